//! Reference "face" images for every person owner of the register, derived from the ID number, so the demo
//! community can enroll all its owners without ~1,000 committed images (test data only, no real person).
//!
//! The drawing follows `fixtures/faces/gen_faces.py`: a 16×16 grid of random 8×8 blocks (the part that makes two
//! persons' thumbnails uncorrelated) with a face-like oval, eyes and mouth on top, 128×128 RGB. The randomness is
//! SplitMix64 seeded from `sha256("linli-sandbox-face-v1" ‖ upper-case ID number)`, so the image is the same on
//! every machine and every run. The 20 committed images keep precedence for their persons.

use sha2::{Digest, Sha256};

pub const SIZE: u32 = 128;
const BLOCK: u32 = 8;

/// SplitMix64: tiny, seedable, and the same everywhere (no dependency on a crate's RNG stream staying stable).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (hi > lo; the modulo bias is irrelevant for drawings).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo).unwrap_or(1).max(1);
        lo + i64::try_from(self.next() % span).unwrap_or(0)
    }

    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }

    fn colour(&mut self) -> [u8; 3] {
        [self.byte(), self.byte(), self.byte()]
    }
}

fn seed(id_number: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(b"linli-sandbox-face-v1");
    h.update(id_number.trim().to_ascii_uppercase().as_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first)
}

/// The person's derived reference image.
pub fn derived_face(id_number: &str) -> image::RgbImage {
    let mut rnd = SplitMix64(seed(id_number));
    let cells = SIZE / BLOCK;
    let grid: Vec<[u8; 3]> = (0..cells * cells).map(|_| rnd.colour()).collect();
    let skin = rnd.colour();
    let half = i64::from(SIZE / 2);
    let (cx, cy) = (half + rnd.range(-6, 7), half + rnd.range(-6, 7));
    let (rx, ry) = (rnd.range(18, 26), rnd.range(24, 32));
    let (eye_dx, eye_y, eye_r) = (rnd.range(8, 14), cy - rnd.range(6, 12), rnd.range(3, 6));
    let (mouth_y, mouth_w) = (cy + rnd.range(10, 18), rnd.range(8, 16));
    image::RgbImage::from_fn(SIZE, SIZE, |x, y| {
        let mut c = grid[((y / BLOCK) * cells + x / BLOCK) as usize];
        let (x, y) = (i64::from(x), i64::from(y));
        // Inside the ellipse: (dx/rx)² + (dy/ry)² ≤ 1, in integers.
        let (dx, dy) = (x - cx, y - cy);
        if dx * dx * ry * ry + dy * dy * rx * rx <= rx * rx * ry * ry {
            c = skin;
            for ex in [cx - eye_dx, cx + eye_dx] {
                if (x - ex).pow(2) + (y - eye_y).pow(2) <= eye_r * eye_r {
                    c = [30, 30, 40];
                }
            }
            if (y - mouth_y).abs() <= 1 && dx.abs() <= mouth_w {
                c = [150, 40, 50];
            }
        }
        image::Rgb(c)
    })
}

/// The derived reference image as PNG bytes (what a test uploads as the person's selfie).
pub fn derived_face_png(id_number: &str) -> anyhow::Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    derived_face(id_number).write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faceid::{similarity, thumbnail, thumbnail_of};

    const IDS: [&str; 6] =
        ["330106197601165874", "310110196207036560", "44030519830627380X", "310104195802015447", "110101199003070011", "110101199003070038"];

    #[test]
    fn the_same_id_always_gives_the_same_image_and_x_is_case_insensitive() {
        assert_eq!(derived_face(IDS[0]), derived_face(IDS[0]));
        assert_eq!(derived_face("44030519830627380X"), derived_face("44030519830627380x"));
        assert_ne!(derived_face(IDS[0]), derived_face(IDS[1]));
    }

    #[test]
    fn derived_faces_are_far_from_each_other_and_survive_png_round_trip() {
        let thumbs: Vec<_> = IDS.iter().map(|id| thumbnail_of(&derived_face(id))).collect();
        for (i, a) in thumbs.iter().enumerate() {
            let png = thumbnail(&derived_face_png(IDS[i]).unwrap()).unwrap();
            assert_eq!(similarity(a, &png), 100.0);
            for b in &thumbs[i + 1..] {
                assert!(similarity(a, b) < 40.0, "{} scores {}", IDS[i], similarity(a, b));
            }
        }
    }
}
