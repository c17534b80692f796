//! Trust (issue 8): the job manager at the scale users reach. Several ddm processes on one
//! data directory, queues of hundreds of jobs, credentials and redirects to other hosts,
//! names and symlinks, crashes at the last byte, full disks. Every guarantee is checked from
//! the outside: the server's log, the file system, many repetitions.

mod credentials;
mod descriptors;
mod directory;
mod finish;
mod hostile;
mod housekeeping;
mod limits;
mod names;
mod queue;
mod rerun;
mod secrets;
mod space;
mod words;
