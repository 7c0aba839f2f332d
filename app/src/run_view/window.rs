//! Which rows of the timeline to render: a window of the callbacks and marks around what the
//! scroll box shows, so the cost of a render does not grow with the run.
//!
//! The timeline's rows are the callbacks, with each [`TimelineMark`] placed before the
//! callback it precedes (`mark.before`, the callback's index) and the marks after the last
//! callback at the end. Nothing here builds that list: a row's position is computed from the
//! counts, with binary searches over the marks (sorted by `before`, as the host writes them).
//!
//! Above [`ALL_BELOW`] rows the list is windowed: every callback row is [`CALLBACK_PX`] high
//! and every mark row [`MARK_PX`] (the stylesheet fixes them for `.timeline.windowed`), so the
//! offset of any row is known without measuring, and spacers stand in for the rows not
//! rendered.

use std::ops::Range;

use pwp_model::trace::TimelineMark;

/// Up to this many rows, all are rendered (and rows keep their natural height).
pub const ALL_BELOW: usize = 200;
/// A callback row's height in a windowed list (px).
pub const CALLBACK_PX: f64 = 42.0;
/// A mark row's height in a windowed list (px).
pub const MARK_PX: f64 = 22.0;
/// Rows rendered beyond each edge of the visible part, so a scroll shows rows at once.
pub const OVERSCAN: usize = 8;

/// One row: a callback (its index) or a mark (its index in the timeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRef {
    /// `report.callbacks[i]`.
    Callback(usize),
    /// `report.timeline[k]`.
    Mark(usize),
}

/// The rows of a run: `callbacks` callbacks and the timeline's marks.
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    /// How many callbacks.
    pub callbacks: usize,
    /// The timeline's marks, sorted by `before`.
    pub marks: &'a [TimelineMark],
}

impl Rows<'_> {
    /// How many rows.
    pub fn len(&self) -> usize {
        self.callbacks + self.marks.len()
    }

    /// Whether the list is windowed (too long to render whole).
    pub fn windowed(&self) -> bool {
        self.len() > ALL_BELOW
    }

    /// The row of mark `k`: after the marks before it and the callbacks before the one it
    /// precedes.
    fn mark_row(&self, k: usize) -> usize {
        k + self.marks[k].before.min(self.callbacks)
    }

    /// How many marks come before row `row`.
    fn marks_before_row(&self, row: usize) -> usize {
        let (mut lo, mut hi) = (0, self.marks.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.mark_row(mid) < row {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// What row `row` shows.
    pub fn at(&self, row: usize) -> RowRef {
        let j = self.marks_before_row(row);
        if j < self.marks.len() && self.mark_row(j) == row {
            RowRef::Mark(j)
        } else {
            RowRef::Callback(row - j)
        }
    }

    /// The row of callback `index`.
    pub fn callback_row(&self, index: usize) -> usize {
        index + self.marks.partition_point(|m| m.before <= index)
    }

    /// The top of row `row` in a windowed list (px); `row == len()` gives the height.
    pub fn offset(&self, row: usize) -> f64 {
        let marks = self.marks_before_row(row);
        (row - marks) as f64 * CALLBACK_PX + marks as f64 * MARK_PX
    }

    /// The height of row `row` in a windowed list (px).
    fn height(&self, row: usize) -> f64 {
        match self.at(row) {
            RowRef::Callback(_) => CALLBACK_PX,
            RowRef::Mark(_) => MARK_PX,
        }
    }

    /// The row at `px` from the top (the last row for anything beyond).
    fn row_at_px(&self, px: f64) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        // The last row whose top is at or above `px`.
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if self.offset(mid) <= px {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo.min(self.len().saturating_sub(1))
    }

    /// The rows to render for a scroll box showing `viewport` px from `scroll_top`: all of
    /// them up to [`ALL_BELOW`], else the visible ones and [`OVERSCAN`] each side.
    pub fn window(&self, scroll_top: f64, viewport: f64) -> Range<usize> {
        if !self.windowed() {
            return 0..self.len();
        }
        let first = self.row_at_px(scroll_top.max(0.0));
        let last = self.row_at_px(scroll_top.max(0.0) + viewport.max(0.0)) + 1;
        first.saturating_sub(OVERSCAN)..(last + OVERSCAN).min(self.len())
    }

    /// The heights of the spacers above and below `window` (px).
    pub fn spacers(&self, window: &Range<usize>) -> (f64, f64) {
        if !self.windowed() {
            return (0.0, 0.0);
        }
        let top = self.offset(window.start);
        (top, self.offset(self.len()) - self.offset(window.end))
    }

    /// Where to scroll so that row `row` is in view, if it is not: `None` when it is wholly
    /// visible, else a scroll top that puts it a third of the way down.
    pub fn scroll_to(&self, row: usize, scroll_top: f64, viewport: f64) -> Option<f64> {
        if !self.windowed() || row >= self.len() {
            return None;
        }
        let (top, bottom) = (self.offset(row), self.offset(row) + self.height(row));
        if top >= scroll_top && bottom <= scroll_top + viewport {
            return None;
        }
        Some((top - viewport / 3.0).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pwp_model::trace::TimelineEvent;

    fn marks(before: &[usize]) -> Vec<TimelineMark> {
        before
            .iter()
            .map(|&before| TimelineMark {
                before,
                at_ns: 0,
                event: TimelineEvent::NoTick,
            })
            .collect()
    }

    /// The rows as the timeline used to build them: every callback, each mark before the
    /// callback it precedes, the rest at the end.
    fn naive(callbacks: usize, marks: &[TimelineMark]) -> Vec<RowRef> {
        let mut out = Vec::new();
        let mut k = 0;
        for c in 0..callbacks {
            while k < marks.len() && marks[k].before <= c {
                out.push(RowRef::Mark(k));
                k += 1;
            }
            out.push(RowRef::Callback(c));
        }
        out.extend((k..marks.len()).map(RowRef::Mark));
        out
    }

    #[test]
    fn rows_are_the_callbacks_with_the_marks_where_they_happened() {
        for (callbacks, before) in [
            (0, vec![]),
            (5, vec![]),
            (0, vec![0, 0]),
            (4, vec![0, 0, 2, 3, 3, 9, 9]),
            (3, vec![1, 2, 3]),
        ] {
            let m = marks(&before);
            let rows = Rows {
                callbacks,
                marks: &m,
            };
            let want = naive(callbacks, &m);
            assert_eq!(rows.len(), want.len());
            let got: Vec<RowRef> = (0..rows.len()).map(|r| rows.at(r)).collect();
            assert_eq!(got, want, "{callbacks} callbacks, marks before {before:?}");
            for (r, row) in want.iter().enumerate() {
                if let RowRef::Callback(c) = row {
                    assert_eq!(rows.callback_row(*c), r);
                }
            }
        }
    }

    #[test]
    fn a_short_list_is_rendered_whole() {
        let m = marks(&[0, 3]);
        let rows = Rows {
            callbacks: 10,
            marks: &m,
        };
        assert!(!rows.windowed());
        assert_eq!(rows.window(5000.0, 300.0), 0..12);
        assert_eq!(rows.spacers(&(0..12)), (0.0, 0.0));
        assert_eq!(rows.scroll_to(11, 0.0, 10.0), None);
    }

    #[test]
    fn a_long_list_renders_the_visible_rows_and_a_few_more() {
        let rows = Rows {
            callbacks: 50_000,
            marks: &[],
        };
        assert!(rows.windowed());
        // 420 px from the top: rows 10.., 300 px tall: to row 17.
        let w = rows.window(420.0, 300.0);
        assert_eq!(w, 10 - OVERSCAN..18 + OVERSCAN);
        assert_eq!(rows.window(0.0, 300.0), 0..8 + OVERSCAN);
        // The end: the last rows, never beyond.
        let end = rows.offset(rows.len());
        assert_eq!(end, 50_000.0 * CALLBACK_PX);
        assert_eq!(rows.window(end - 300.0, 300.0).end, 50_000);
        assert_eq!(rows.window(end + 1e6, 300.0).end, 50_000);
        // The spacers and the rendered rows add up to the whole height.
        let (top, bottom) = rows.spacers(&w);
        let rendered = w.len() as f64 * CALLBACK_PX;
        assert_eq!(top + rendered + bottom, end);
    }

    #[test]
    fn offsets_count_marks_at_their_own_height() {
        // Marks before callbacks 0 and 300, and two after the last.
        let m = marks(&[0, 300, 1000, 1000]);
        let rows = Rows {
            callbacks: 400,
            marks: &m,
        };
        assert_eq!(rows.offset(0), 0.0);
        assert_eq!(rows.offset(1), MARK_PX);
        assert_eq!(rows.offset(2), MARK_PX + CALLBACK_PX);
        assert_eq!(rows.at(301), RowRef::Mark(1));
        assert_eq!(rows.offset(302), 2.0 * MARK_PX + 300.0 * CALLBACK_PX);
        assert_eq!(rows.offset(rows.len()), 4.0 * MARK_PX + 400.0 * CALLBACK_PX);
        // The window at the mark starts there (less the overscan) and holds it.
        let w = rows.window(rows.offset(301), 100.0);
        assert_eq!(w.start, 301 - OVERSCAN);
        assert!(w.contains(&301));
        let (top, bottom) = rows.spacers(&w);
        let rendered: f64 = w.clone().map(|r| rows.height(r)).sum();
        assert_eq!(top + rendered + bottom, rows.offset(rows.len()));
    }

    #[test]
    fn scrolling_to_a_row_happens_only_when_it_is_out_of_view() {
        let rows = Rows {
            callbacks: 1000,
            marks: &[],
        };
        let row = rows.callback_row(500);
        assert_eq!(
            rows.scroll_to(row, 0.0, 420.0),
            Some(500.0 * CALLBACK_PX - 140.0)
        );
        let top = 500.0 * CALLBACK_PX - 100.0;
        assert_eq!(rows.scroll_to(row, top, 420.0), None);
        // Half hidden at the bottom edge counts as out of view.
        assert!(rows.scroll_to(row, top - 330.0, 420.0).is_some());
        assert_eq!(rows.scroll_to(2, 1000.0, 420.0), Some(0.0));
    }
}
