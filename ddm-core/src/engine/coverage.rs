//! Written byte ranges, merged: what the coordinator knows is on disk (not yet durable).

use std::ops::Range;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    ranges: Vec<Range<u64>>, // sorted, disjoint, non-adjacent
}

impl Coverage {
    pub fn insert(&mut self, r: Range<u64>) {
        if r.start >= r.end {
            return;
        }
        let mut start = r.start;
        let mut end = r.end;
        // Find all ranges that overlap or touch [start, end) and merge them.
        let first = self.ranges.partition_point(|x| x.end < start);
        let mut last = first;
        while last < self.ranges.len() && self.ranges[last].start <= end {
            start = start.min(self.ranges[last].start);
            end = end.max(self.ranges[last].end);
            last += 1;
        }
        self.ranges.splice(first..last, std::iter::once(start..end));
    }

    /// Take `r` out (bytes found to be wrong: they are to be fetched again).
    pub fn remove(&mut self, r: Range<u64>) {
        if r.start < r.end {
            self.ranges = super::split::subtract(&self.ranges, std::slice::from_ref(&r));
        }
    }

    pub fn ranges(&self) -> &[Range<u64>] {
        &self.ranges
    }

    /// Total bytes covered.
    pub fn total(&self) -> u64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // one-range expectations read naturally
mod tests {
    use super::*;

    #[test]
    fn merges_overlapping_and_touching() {
        let mut c = Coverage::default();
        c.insert(10..20);
        c.insert(30..40);
        assert_eq!(c.ranges(), &[10..20, 30..40]);
        c.insert(20..30);
        assert_eq!(c.ranges(), &[10..40]);
        c.insert(0..5);
        c.insert(50..60);
        c.insert(3..55);
        assert_eq!(c.ranges(), &[0..60]);
        assert_eq!(c.total(), 60);
        c.insert(70..70);
        assert_eq!(c.ranges().len(), 1);
    }

    #[test]
    fn remove_cuts_holes_and_ends() {
        let mut c = Coverage::default();
        c.insert(0..100);
        c.insert(200..300);
        c.remove(50..250);
        assert_eq!(c.ranges(), &[0..50, 250..300]);
        c.remove(0..10);
        c.remove(290..400);
        c.remove(7..7);
        assert_eq!(c.ranges(), &[10..50, 250..290]);
        assert_eq!(c.total(), 80);
    }

    #[test]
    fn inside_existing_is_noop() {
        let mut c = Coverage::default();
        c.insert(0..100);
        c.insert(10..20);
        assert_eq!(c.ranges(), &[0..100]);
    }
}
