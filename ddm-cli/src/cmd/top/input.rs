//! Keys of `ddm top`: a pure mapping from a key press (and whether a yes/no question is
//! open) to what to do. While a removal waits for its answer only `y` removes; every other
//! key but Ctrl-C cancels it, so a stray key never deletes anything.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    First,
    Last,
    Pause,
    Resume,
    /// Show or hide the selected job's lanes.
    Lanes,
    /// Ask whether to remove the selected job.
    AskRemove,
    /// The answer to that question.
    Confirm(bool),
    Quit,
    Nothing,
}

/// What `key` means; `asking` is true while a removal waits for y/n.
pub fn action(key: KeyEvent, asking: bool) -> Action {
    if key.kind == KeyEventKind::Release {
        return Action::Nothing;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c' | 'C')) {
        return Action::Quit;
    }
    if asking {
        return Action::Confirm(matches!(key.code, KeyCode::Char('y' | 'Y')) && !ctrl);
    }
    match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Home | KeyCode::Char('g') => Action::First,
        KeyCode::End | KeyCode::Char('G') => Action::Last,
        KeyCode::Enter => Action::Lanes,
        KeyCode::Char('p') => Action::Pause,
        KeyCode::Char('r') => Action::Resume,
        KeyCode::Char('d') | KeyCode::Delete => Action::AskRemove,
        KeyCode::Char('q') | KeyCode::Esc => Action::Quit,
        _ => Action::Nothing,
    }
}

/// The selection after `a`, among `len` rows (None when there are none).
pub fn moved(selected: Option<usize>, a: Action, len: usize) -> Option<usize> {
    if len == 0 {
        return None;
    }
    let i = selected.unwrap_or(0).min(len - 1);
    Some(match a {
        Action::Up => i.saturating_sub(1),
        Action::Down => (i + 1).min(len - 1),
        Action::First => 0,
        Action::Last => len - 1,
        _ => i,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(action(key(KeyCode::Up), false), Action::Up);
        assert_eq!(action(key(KeyCode::Char('j')), false), Action::Down);
        assert_eq!(action(key(KeyCode::Char('p')), false), Action::Pause);
        assert_eq!(action(key(KeyCode::Char('r')), false), Action::Resume);
        assert_eq!(action(key(KeyCode::Char('d')), false), Action::AskRemove);
        assert_eq!(action(key(KeyCode::Char('q')), false), Action::Quit);
        assert_eq!(action(key(KeyCode::Esc), false), Action::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(ctrl_c, false), Action::Quit);
        assert_eq!(action(key(KeyCode::Char('x')), false), Action::Nothing);
    }

    #[test]
    fn only_y_confirms_a_removal() {
        assert_eq!(action(key(KeyCode::Char('y')), true), Action::Confirm(true));
        for k in [
            KeyCode::Char('n'),
            KeyCode::Char('d'),
            KeyCode::Char('q'),
            KeyCode::Esc,
            KeyCode::Enter,
        ] {
            assert_eq!(action(key(k), true), Action::Confirm(false), "{k:?}");
        }
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(ctrl_c, true), Action::Quit);
    }

    #[test]
    fn selection_stays_in_range() {
        assert_eq!(moved(None, Action::Down, 0), None);
        assert_eq!(moved(None, Action::Nothing, 3), Some(0));
        assert_eq!(moved(Some(0), Action::Up, 3), Some(0));
        assert_eq!(moved(Some(1), Action::Down, 3), Some(2));
        assert_eq!(moved(Some(2), Action::Down, 3), Some(2));
        assert_eq!(moved(Some(7), Action::Nothing, 3), Some(2));
        assert_eq!(moved(Some(1), Action::Last, 3), Some(2));
        assert_eq!(moved(Some(2), Action::First, 3), Some(0));
    }
}
