//! The runner's side of a schedule: four times a second it asks which window is in force
//! and, when that changed, lays the window's rate cap over the runner's shared token bucket
//! (every running job follows at its next byte) and holds or releases the queue. A hold
//! pauses the running jobs with their progress kept, marked `held` in the store (so a
//! user's pause is told apart and stays), and nothing is claimed while it lasts; when no
//! window holds any more, the held jobs go back to the queue and continue. Holding is only
//! for the runners of the whole queue (`run`, `serve`): a `get` is a download asked for
//! now, and follows the caps only.

use super::eval::{in_force, next_change, InForce, System};
use super::Window;
use crate::engine::Control;
use crate::store::{Result, Store};
use std::time::{Duration, Instant};

/// How often the schedule is looked at (a change reaches running jobs within a second).
const EVERY: Duration = Duration::from_millis(250);

/// A runner following its schedule.
#[derive(Debug)]
pub struct Follower {
    windows: Vec<Window>,
    may_hold: bool,
    last: Option<Instant>,
    now: Option<InForce>,
}

impl Follower {
    /// `may_hold`: this runner holds the queue when a window says so.
    pub fn new(windows: &[Window], may_hold: bool) -> Follower {
        Follower {
            windows: windows.to_vec(),
            may_hold,
            last: None,
            now: None,
        }
    }

    /// The queue is held now: claim nothing.
    pub fn holding(&self) -> bool {
        self.may_hold && self.now.is_some_and(|f| f.hold)
    }

    /// Look at the schedule when it is time; on a change, apply it and say what changed.
    pub fn tick(&mut self, store: &mut Store, ctl: &Control) -> Result<Option<String>> {
        if self.windows.is_empty() || self.last.is_some_and(|t| t.elapsed() < EVERY) {
            return Ok(None);
        }
        self.last = Some(Instant::now());
        let t = crate::clock::now();
        let f = in_force(&self.windows, &crate::clock::local(t));
        if self.now == Some(f) {
            return Ok(None);
        }
        let first = self.now.is_none();
        self.now = Some(f);
        ctl.rate.set_cap(f.max_rate);
        let mut said = match f.window {
            Some(i) => format!(
                "schedule: window {} in force ({})",
                i + 1,
                self.windows[i].describe()
            ),
            None => "schedule: no window in force (the defaults apply)".to_string(),
        };
        if let Some((at, _)) = next_change(&self.windows, t, &System) {
            said.push_str(&format!(" until {}", crate::clock::format(at)));
        }
        let mut news = false;
        if self.may_hold && f.hold {
            let why = match f.window {
                Some(i) => format!("window {}: {}", i + 1, self.windows[i].describe()),
                None => "the schedule".to_string(),
            };
            let held = store.hold_running(&why)?;
            ctl.nudge();
            if !held.is_empty() {
                news = true;
                said.push_str(&format!(
                    "; paused job{} {} (progress kept), resumed when the hold ends",
                    if held.len() == 1 { "" } else { "s" },
                    list(&held)
                ));
            }
        } else {
            let back = self.release(store, ctl)?;
            if !back.is_empty() {
                news = true;
                said.push_str(&format!(
                    "; job{} {} held by the schedule continue",
                    if back.len() == 1 { "" } else { "s" },
                    list(&back)
                ));
            }
        }
        // Starting outside every window is the ordinary case: nothing to say.
        Ok((!first || f.window.is_some() || news).then_some(said))
    }

    /// Held jobs back to the queue (a runner of the whole queue only).
    fn release(&self, store: &mut Store, ctl: &Control) -> Result<Vec<i64>> {
        if !self.may_hold {
            return Ok(Vec::new());
        }
        let back = store.release_held()?;
        if !back.is_empty() {
            ctl.nudge();
        }
        Ok(back)
    }
}

fn list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
