//! The replay charts' geometry: a series of any length cut to at most [`POINTS`] points (the
//! largest value of each stretch, so a spike or a step is never averaged away) and drawn as
//! an SVG polyline from zero up, in a [`WIDTH`] x [`HEIGHT`] view box.

/// The view box's width.
pub const WIDTH: f64 = 300.0;
/// The view box's height.
pub const HEIGHT: f64 = 60.0;
/// The view box, `0 0 WIDTH HEIGHT`.
pub const VIEW_BOX: &str = "0 0 300 60";
/// The most points drawn.
pub const POINTS: usize = 240;

/// `values` cut to at most [`POINTS`]: each point is the largest value of its stretch.
pub fn downsample(values: &[f64]) -> Vec<f64> {
    if values.len() <= POINTS {
        return values.to_vec();
    }
    (0..POINTS)
        .map(|k| {
            let (from, to) = (k * values.len() / POINTS, (k + 1) * values.len() / POINTS);
            values[from..to].iter().copied().fold(f64::MIN, f64::max)
        })
        .collect()
}

/// The `points` attribute of a polyline through `values`, evenly spread across the width,
/// scaled so that 0 is the bottom and the largest value near the top.
pub fn polyline(values: &[f64]) -> String {
    let max = values.iter().copied().fold(0.0, f64::max);
    let step = WIDTH / (values.len().max(2) - 1) as f64;
    let mut out = String::with_capacity(values.len() * 12);
    for (i, v) in values.iter().enumerate() {
        let y = if max > 0.0 {
            HEIGHT - (HEIGHT - 4.0) * v / max
        } else {
            HEIGHT
        };
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{:.1},{:.1}", i as f64 * step, y));
    }
    out
}

/// The median of `values` (0 for none).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_series_is_cut_to_its_largest_values() {
        let mut values = vec![1.0; 10_000];
        values[5_000] = 9.0;
        let d = downsample(&values);
        assert_eq!(d.len(), POINTS);
        assert_eq!(
            d.iter().filter(|&&v| v == 9.0).count(),
            1,
            "the spike stays"
        );
        assert_eq!(downsample(&[3.0, 4.0]), [3.0, 4.0]);
        // A step stays a step.
        let step: Vec<f64> = (0..1000).map(|i| if i < 500 { 2.0 } else { 3.0 }).collect();
        let d = downsample(&step);
        assert_eq!((d[0], d[POINTS - 1]), (2.0, 3.0));
    }

    #[test]
    fn the_line_runs_across_the_box_from_zero_up() {
        assert_eq!(polyline(&[0.0, 5.0, 10.0]), "0.0,60.0 150.0,32.0 300.0,4.0");
        assert_eq!(polyline(&[0.0, 0.0]), "0.0,60.0 300.0,60.0");
    }

    #[test]
    fn the_view_box_is_the_width_and_height() {
        assert_eq!(VIEW_BOX, format!("0 0 {WIDTH} {HEIGHT}"));
    }

    #[test]
    fn median_of_times() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[]), 0.0);
    }
}
