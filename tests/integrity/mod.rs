//! Integrity (issue 14): what a hostile server or a hostile input file can no longer do.
//! Checksum lines picked by the name the user asked for, capped input files and Cookie
//! header, credential headers recognised by their names, and deadlines against a trickle.
//! Every check is made from outside: exit codes, the words printed, the files, the servers'
//! logs, `/proc/PID/cmdline`, the job database's bytes.

mod checksums;
mod credentials;
mod deadlines;
mod inputs;
