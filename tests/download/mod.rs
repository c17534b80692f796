//! Downloads against the loopback server: byte-exact multi-connection transfers, work
//! stealing, servers without ranges or lengths, HEAD refused, naming, checksums, and the verbs
//! that run, report and probe downloads. Checked on the file written, the server's log and
//! the words printed. What needs a login or several origins is in `reach/`.

mod answers;
mod checksums;
mod commands;
mod naming;
mod segments;
