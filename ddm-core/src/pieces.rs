//! Pieces and the completion bitmap: the resume state of a download.
//!
//! The file is cut into fixed-size pieces (the last may be short). A piece's bit is set only
//! when every byte of it has been written and fdatasync'ed (a byte counts once, and only once
//! it is durable); the bitmap is what is committed to the store, and after a crash it is the
//! only thing trusted. The piece size grows with the file so the bitmap stays small (≤ 2 KiB
//! even for 100 GiB+).

use std::ops::Range;

/// Smallest piece (also the re-download bound per in-flight range after a crash).
pub const MIN_PIECE: u64 = 256 * 1024;
/// Target maximum number of pieces, i.e. bits in the bitmap.
const MAX_PIECES: u64 = 16 * 1024;

/// Piece size for a file of `size` bytes: a power of two ≥ MIN_PIECE with ≤ MAX_PIECES pieces.
pub fn piece_size_for(size: u64) -> u64 {
    let want = size.div_ceil(MAX_PIECES).max(MIN_PIECE);
    want.next_power_of_two()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceMap {
    size: u64,
    piece: u64,
    bits: Vec<u8>,
}

impl PieceMap {
    pub fn new(size: u64, piece: u64) -> Self {
        assert!(piece > 0);
        let n = size.div_ceil(piece);
        PieceMap {
            size,
            piece,
            bits: vec![0; n.div_ceil(8) as usize],
        }
    }

    /// Rebuild from stored bytes; None if they do not fit the size (a damaged record).
    pub fn from_bytes(size: u64, piece: u64, bytes: &[u8]) -> Option<Self> {
        let mut m = Self::new(size, piece);
        if bytes.len() != m.bits.len() {
            return None;
        }
        m.bits.copy_from_slice(bytes);
        // Bits past the last piece must be clear.
        let n = m.count();
        let extra = (m.bits.len() as u64 * 8) - n;
        if extra > 0 {
            let last = *m.bits.last().unwrap();
            if last & ((1u16 << extra) - 1) as u8 != 0 {
                return None;
            }
        }
        Some(m)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bits
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn piece_size(&self) -> u64 {
        self.piece
    }
    /// Number of pieces.
    pub fn count(&self) -> u64 {
        self.size.div_ceil(self.piece)
    }
    pub fn range(&self, i: u64) -> Range<u64> {
        let start = i * self.piece;
        start..(start + self.piece).min(self.size)
    }
    pub fn is_done(&self, i: u64) -> bool {
        self.bits[(i / 8) as usize] & (0x80 >> (i % 8)) != 0
    }
    pub fn set_done(&mut self, i: u64) {
        self.bits[(i / 8) as usize] |= 0x80 >> (i % 8);
    }
    pub fn all_done(&self) -> bool {
        (0..self.count()).all(|i| self.is_done(i))
    }
    /// Bytes in completed pieces.
    pub fn bytes_done(&self) -> u64 {
        (0..self.count())
            .filter(|&i| self.is_done(i))
            .map(|i| {
                let r = self.range(i);
                r.end - r.start
            })
            .sum()
    }

    /// Mark every piece lying entirely inside `r`. Returns how many became done.
    pub fn mark_covered(&mut self, r: &Range<u64>) -> u64 {
        if r.start >= r.end {
            return 0;
        }
        let first = r.start.div_ceil(self.piece);
        let mut n = 0;
        let mut i = first;
        while i < self.count() {
            let pr = self.range(i);
            if pr.end > r.end {
                break;
            }
            if !self.is_done(i) {
                self.set_done(i);
                n += 1;
            }
            i += 1;
        }
        n
    }

    /// Byte ranges of missing pieces, adjacent ones merged, in order.
    pub fn missing(&self) -> Vec<Range<u64>> {
        self.runs(false)
    }
    /// Byte ranges of done pieces, adjacent ones merged, in order.
    pub fn done_ranges(&self) -> Vec<Range<u64>> {
        self.runs(true)
    }

    fn runs(&self, done: bool) -> Vec<Range<u64>> {
        let mut out: Vec<Range<u64>> = Vec::new();
        for i in 0..self.count() {
            if self.is_done(i) != done {
                continue;
            }
            let r = self.range(i);
            match out.last_mut() {
                Some(last) if last.end == r.start => last.end = r.end,
                _ => out.push(r),
            }
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // one-range expectations read naturally
mod tests {
    use super::*;

    #[test]
    fn piece_size_keeps_bitmap_small() {
        assert_eq!(piece_size_for(0), MIN_PIECE);
        assert_eq!(piece_size_for(10 << 20), MIN_PIECE);
        let p = piece_size_for(100 << 30);
        assert!(p.is_power_of_two());
        assert!((100u64 << 30).div_ceil(p) <= MAX_PIECES);
        assert!(PieceMap::new(100 << 30, p).as_bytes().len() <= 2048);
        assert!(
            PieceMap::new(5 << 40, piece_size_for(5 << 40))
                .as_bytes()
                .len()
                <= 2048
        );
    }

    #[test]
    fn mark_covered_only_marks_whole_pieces() {
        let mut m = PieceMap::new(1000, 100);
        assert_eq!(m.count(), 10);
        assert_eq!(m.mark_covered(&(50..260)), 1); // only piece 1 (100..200) is inside
        assert!(m.is_done(1) && !m.is_done(0) && !m.is_done(2));
        assert_eq!(m.mark_covered(&(900..1000)), 1); // last piece
        assert_eq!(m.bytes_done(), 200);
        assert_eq!(m.missing(), vec![0..100, 200..900]);
        assert_eq!(m.done_ranges(), vec![100..200, 900..1000]);
    }

    #[test]
    fn short_last_piece() {
        let mut m = PieceMap::new(250, 100);
        assert_eq!(m.count(), 3);
        assert_eq!(m.range(2), 200..250);
        m.mark_covered(&(0..250));
        assert!(m.all_done());
        assert_eq!(m.bytes_done(), 250);
        assert!(m.missing().is_empty());
    }

    #[test]
    fn bytes_round_trip_and_damage_detected() {
        let mut m = PieceMap::new(1000, 100);
        m.set_done(3);
        m.set_done(9);
        let back = PieceMap::from_bytes(1000, 100, m.as_bytes()).unwrap();
        assert_eq!(back, m);
        assert!(
            PieceMap::from_bytes(1000, 100, &[0]).is_none(),
            "wrong length"
        );
        assert!(
            PieceMap::from_bytes(1000, 100, &[0, 0xff]).is_none(),
            "bits past the end"
        );
    }

    #[test]
    fn empty_file() {
        let m = PieceMap::new(0, MIN_PIECE);
        assert_eq!(m.count(), 0);
        assert!(m.all_done());
        assert!(m.missing().is_empty());
    }
}
