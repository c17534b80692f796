//! A TLS front for the loopback server (feature `tls`): it terminates TLS with a certificate
//! for `localhost` and 127.0.0.1 signed by a throw-away CA made at start, and relays the
//! plain bytes to a backend port (a [`crate::Server`]), so HTTPS tests get every fault and
//! range the server has. The CA is not trusted by anyone until a test hands its PEM to ddm.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslAcceptorBuilder, SslMethod};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509Name, X509};

/// The certificate a [`TlsFront`] shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cert {
    /// For `localhost` and 127.0.0.1, valid now, signed by the front's CA.
    Good,
    /// Signed by the CA, but its validity ended yesterday.
    Expired,
    /// Signed by the CA, for `other.example` only.
    WrongHost,
    /// For `localhost`, signed by its own key (no CA vouches for it).
    SelfSigned,
}

/// A running TLS front on 127.0.0.1; it runs until the test process ends.
#[derive(Debug)]
pub struct TlsFront {
    port: u16,
    ca_pem: Vec<u8>,
}

impl TlsFront {
    /// Terminate TLS on a new port and relay to `backend_port` on 127.0.0.1.
    pub fn start(backend_port: u16) -> io::Result<TlsFront> {
        Self::start_with(backend_port, Cert::Good)
    }

    /// Like [`TlsFront::start`], with a certificate that is wrong in the given way.
    pub fn start_with(backend_port: u16, cert: Cert) -> io::Result<TlsFront> {
        let (b, ca_pem) = acceptor_builder(cert)?;
        let acceptor = b.build();
        let l = TcpListener::bind(("127.0.0.1", 0))?;
        let port = l.local_addr()?.port();
        thread::spawn(move || {
            for s in l.incoming().flatten() {
                let acceptor = acceptor.clone();
                thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                    let Ok(tls) = acceptor.accept(s) else { return };
                    let Ok(up) = TcpStream::connect(("127.0.0.1", backend_port)) else {
                        return;
                    };
                    let _ = relay(tls, up);
                });
            }
        });
        Ok(TlsFront { port, ca_pem })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://localhost:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// The CA certificate (PEM) that signed the front's certificate.
    pub fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }
}

/// An acceptor (Mozilla's intermediate settings) with a new certificate for `localhost` and
/// 127.0.0.1, and the PEM of the throw-away CA that signed it.
pub(crate) fn acceptor_builder(cert: Cert) -> io::Result<(SslAcceptorBuilder, Vec<u8>)> {
    let (ca, ca_key) = make_ca().map_err(io::Error::other)?;
    let (leaf, key) = make_leaf(&ca, &ca_key, cert).map_err(io::Error::other)?;
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).map_err(io::Error::other)?;
    b.set_private_key(&key).map_err(io::Error::other)?;
    b.set_certificate(&leaf).map_err(io::Error::other)?;
    Ok((b, ca.to_pem().map_err(io::Error::other)?))
}

type Made<T> = Result<T, openssl::error::ErrorStack>;

fn key() -> Made<PKey<Private>> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

fn name(cn: &str) -> Made<X509Name> {
    let mut n = X509Name::builder()?;
    n.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    Ok(n.build())
}

fn serial() -> Made<openssl::asn1::Asn1Integer> {
    let mut bn = BigNum::new()?;
    bn.rand(64, MsbOption::MAYBE_ZERO, false)?;
    bn.to_asn1_integer()
}

fn make_ca() -> Made<(X509, PKey<Private>)> {
    let key = key()?;
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let (sn, from, to) = (
        serial()?,
        Asn1Time::days_from_now(0)?,
        Asn1Time::days_from_now(2)?,
    );
    b.set_serial_number(&sn)?;
    let n = name("ddm test CA")?;
    b.set_subject_name(&n)?;
    b.set_issuer_name(&n)?;
    b.set_pubkey(&key)?;
    b.set_not_before(&from)?;
    b.set_not_after(&to)?;
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok((b.build(), key))
}

fn make_leaf(ca: &X509, ca_key: &PKey<Private>, cert: Cert) -> Made<(X509, PKey<Private>)> {
    let key = key()?;
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (from, to) = match cert {
        Cert::Expired => (
            Asn1Time::from_unix(now - 3 * 86400)?,
            Asn1Time::from_unix(now - 86400)?,
        ),
        _ => (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(2)?),
    };
    let sn = serial()?;
    b.set_serial_number(&sn)?;
    let subject = name("localhost")?;
    b.set_subject_name(&subject)?;
    if cert == Cert::SelfSigned {
        b.set_issuer_name(&subject)?;
    } else {
        b.set_issuer_name(ca.subject_name())?;
    }
    b.set_pubkey(&key)?;
    b.set_not_before(&from)?;
    b.set_not_after(&to)?;
    let san = match cert {
        Cert::WrongHost => SubjectAlternativeName::new()
            .dns("other.example")
            .build(&b.x509v3_context(Some(ca), None))?,
        _ => SubjectAlternativeName::new()
            .dns("localhost")
            .ip("127.0.0.1")
            .build(&b.x509v3_context(Some(ca), None))?,
    };
    b.append_extension(san)?;
    b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let signer = if cert == Cert::SelfSigned {
        &key
    } else {
        ca_key
    };
    b.sign(signer, MessageDigest::sha256())?;
    Ok((b.build(), key))
}

/// Copy both ways between the TLS side and the backend until either closes. One thread, both
/// sockets non-blocking (a TLS stream cannot be split between threads).
fn relay(mut tls: openssl::ssl::SslStream<TcpStream>, mut up: TcpStream) -> io::Result<()> {
    tls.get_ref().set_nonblocking(true)?;
    up.set_nonblocking(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut moved = false;
        match tls.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                write_all(&mut up, &buf[..n])?;
                moved = true;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        match up.read(&mut buf) {
            Ok(0) => {
                let _ = tls.shutdown();
                return Ok(());
            }
            Ok(n) => {
                write_all(&mut tls, &buf[..n])?;
                moved = true;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if !moved {
            thread::sleep(Duration::from_micros(500));
        }
    }
}

/// `write_all` on a non-blocking stream: wait out `WouldBlock` (a TLS write must be retried
/// with the same bytes).
fn write_all(w: &mut impl Write, mut b: &[u8]) -> io::Result<()> {
    while !b.is_empty() {
        match w.write(b) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => b = &b[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_micros(200))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
