//! The result chart (issue 6, Deliver 7): a PNG with, per proposal, one panel of two bar groups — area and
//! headcount per option (strict tally) — each scaled to its largest bar. Drawn pixel by pixel with `image`: no
//! fonts. The chart carries no text on purpose: option labels are Chinese and a built-in bitmap font would only
//! cover digits and Latin letters; the HTML result page embeds the chart beside its table, with a legend whose
//! colours are [`PALETTE`] in option order, and the exact figures.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};

use super::tally::Weight;

pub const BAR_W: u32 = 24;
pub const GAP: u32 = 8;
pub const GROUP_GAP: u32 = 32;
pub const MARGIN: u32 = 16;
/// Height in pixels of the tallest bar of a group.
pub const PLOT_H: u32 = 200;
pub const PANEL_H: u32 = PLOT_H + 2 * MARGIN;

pub const BACKGROUND: Rgb<u8> = Rgb([255, 255, 255]);
pub const AXIS: Rgb<u8> = Rgb([136, 136, 136]);
/// Option colours, in option order (option 0 = yes); repeated beyond eight options.
pub const PALETTE: [Rgb<u8>; 8] = [
    Rgb([46, 125, 50]),
    Rgb([198, 40, 40]),
    Rgb([117, 117, 117]),
    Rgb([21, 101, 192]),
    Rgb([239, 108, 0]),
    Rgb([106, 27, 154]),
    Rgb([0, 131, 143]),
    Rgb([158, 157, 36]),
];

pub fn colour(option: usize) -> Rgb<u8> {
    PALETTE[option % PALETTE.len()]
}

/// The chart's size for proposals with at most `max_options` options.
pub fn size(proposals: usize, max_options: u32) -> (u32, u32) {
    let group = max_options * (BAR_W + GAP);
    (2 * MARGIN + 2 * group + GROUP_GAP, PANEL_H * u32::try_from(proposals).unwrap_or(0).max(1))
}

/// Left edge of a bar and the first row below it (the axis row). `group` 0 = area, 1 = headcount.
pub fn bar_origin(max_options: u32, proposal: u32, group: u32, option: u32) -> (u32, u32) {
    let x = MARGIN + group * (max_options * (BAR_W + GAP) + GROUP_GAP) + option * (BAR_W + GAP);
    (x, proposal * PANEL_H + MARGIN + PLOT_H)
}

/// Bar height for `value` where the group's largest value is `max`: `round(PLOT_H · value / max)` in integers.
pub fn bar_height(value: i64, max: i64) -> u32 {
    if max <= 0 || value <= 0 {
        return 0;
    }
    let h = (i128::from(PLOT_H) * i128::from(value) * 2 + i128::from(max)) / (2 * i128::from(max));
    u32::try_from(h.min(i128::from(PLOT_H))).unwrap_or(PLOT_H)
}

/// Draws the chart of per-option weights, one entry per proposal.
pub fn draw(proposals: &[Vec<Weight>]) -> RgbImage {
    let max_options = u32::try_from(proposals.iter().map(Vec::len).max().unwrap_or(0).max(1)).unwrap_or(16);
    let (w, h) = size(proposals.len(), max_options);
    let mut img = RgbImage::from_pixel(w, h, BACKGROUND);
    for (p, options) in proposals.iter().enumerate() {
        let p = u32::try_from(p).unwrap_or(0);
        for group in 0..2u32 {
            let value = |wt: &Weight| if group == 0 { wt.area_centi_m2 } else { wt.heads };
            let max = options.iter().map(value).max().unwrap_or(0);
            let (x0, axis_y) = bar_origin(max_options, p, group, 0);
            for x in x0..x0 + max_options * (BAR_W + GAP) - GAP {
                img.put_pixel(x, axis_y, AXIS);
            }
            for (i, wt) in options.iter().enumerate() {
                let (x, base) = bar_origin(max_options, p, group, u32::try_from(i).unwrap_or(0));
                let bar = bar_height(value(wt), max);
                for y in base - bar..base {
                    for dx in 0..BAR_W {
                        img.put_pixel(x + dx, y, colour(i));
                    }
                }
            }
        }
    }
    img
}

/// The chart as PNG bytes.
pub fn png(proposals: &[Vec<Weight>]) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Cursor::new(Vec::new());
    draw(proposals).write_to(&mut out, ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// The per-option weights of every ballot line of a result document (its strict tally): a yes/no proposal is
/// one row of the chart, an election one row per candidate.
pub fn weights_of(doc: &serde_json::Value) -> Vec<Vec<Weight>> {
    doc["proposals"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["lines"].as_array().cloned().unwrap_or_default())
        .map(|line| {
            line["strict"]["options"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|w| Weight::new(w["area_centi_m2"].as_i64().unwrap_or(0), w["heads"].as_i64().unwrap_or(0)))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Measures a bar from the decoded pixels: rows of the bar's colour going up from the axis.
    fn measured(img: &RgbImage, max_options: u32, p: u32, g: u32, i: u32) -> u32 {
        let (x, base) = bar_origin(max_options, p, g, i);
        let mid = x + BAR_W / 2;
        (1..=base).take_while(|d| *img.get_pixel(mid, base - d) == colour(i as usize)).count() as u32
    }

    #[test]
    fn decoded_bars_are_proportional_to_the_tally() {
        let tally = vec![
            vec![Weight::new(30001, 3), Weight::new(0, 0), Weight::new(9999, 1)],
            vec![Weight::new(29999, 3), Weight::new(10001, 1), Weight::new(0, 0)],
        ];
        let bytes = png(&tally).unwrap();
        let img = image::load_from_memory_with_format(&bytes, ImageFormat::Png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), size(2, 3));
        for (p, options) in tally.iter().enumerate() {
            for g in 0..2 {
                let v = |w: &Weight| if g == 0 { w.area_centi_m2 } else { w.heads };
                let max = options.iter().map(v).max().unwrap();
                for (i, w) in options.iter().enumerate() {
                    let h = measured(&img, 3, p as u32, g, i as u32);
                    // h / PLOT_H = v / max within half a pixel: |2·h·max − 2·PLOT_H·v| ≤ max.
                    let err = (2 * i64::from(h) * max - 2 * i64::from(PLOT_H) * v(w)).abs();
                    assert!(err <= max, "proposal {p} group {g} option {i}: {h} px for {} of {max}", v(w));
                }
            }
        }
        // The largest bar fills the plot; a zero is no bar at all.
        assert_eq!(measured(&img, 3, 0, 0, 0), PLOT_H);
        assert_eq!(measured(&img, 3, 0, 1, 1), 0);
        // 9999 of 30001 → 66.66 px → 67.
        assert_eq!(measured(&img, 3, 0, 0, 2), 67);
    }

    #[test]
    fn heights_round_half_up_and_never_exceed_the_plot() {
        assert_eq!(bar_height(1, 400), 1, "0.5 px rounds up");
        assert_eq!(bar_height(1, 401), 0);
        assert_eq!(bar_height(5, 5), PLOT_H);
        assert_eq!(bar_height(0, 0), 0);
        assert_eq!(bar_height(i64::MAX, i64::MAX), PLOT_H);
    }
}
