//! The sandbox's knowledge of the world: the register (who owns which unit, with which area) and the persons'
//! reference face images: the committed ones of `faces/index.csv`, and for every other person owner of the register
//! the image derived from the ID number (`crate::faces`).

use anyhow::{Context, bail};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct UnitKey {
    pub community: String,
    pub building: String,
    pub unit: String,
}

#[derive(Debug, Clone)]
pub struct UnitRecord {
    pub exclusive_area_m2: String,
    pub area_source: String,
    /// (name, id_number) of each owner.
    pub owners: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct FacePerson {
    pub id_number: String,
    pub name: String,
    /// Relative to the fixtures folder, e.g. `faces/face-01.png`.
    pub face_image: String,
    pub face_image_path: PathBuf,
    /// 16x16 grayscale thumbnail of the reference image.
    pub thumbnail: [f64; 256],
}

#[derive(Debug, Default)]
pub struct Fixtures {
    pub units: HashMap<UnitKey, UnitRecord>,
    /// id_number (upper case) → name, for every person owner in the register.
    pub persons: HashMap<String, String>,
    pub face_persons: Vec<FacePerson>,
}

impl Fixtures {
    pub fn load(register: &Path, fixtures: &Path) -> anyhow::Result<Self> {
        let mut f = Fixtures::default();
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(false)
            .from_path(register)
            .with_context(|| format!("reading register {}", register.display()))?;
        let headers = rdr.headers()?.clone();
        let col = |name: &str| headers.iter().position(|h| h == name).with_context(|| format!("register has no column {name}"));
        let (c_rec, c_com, c_bld, c_unit, c_name, c_area, c_src, c_otype, c_id) = (
            col("record")?,
            col("community")?,
            col("building")?,
            col("unit")?,
            col("name")?,
            col("exclusive_area_m2")?,
            col("area_source")?,
            col("owner_type")?,
            col("id_number")?,
        );
        let mut owner_lines = vec![];
        for rec in rdr.records() {
            let rec = rec?;
            let get = |i: usize| rec.get(i).unwrap_or("").to_owned();
            let key = UnitKey { community: get(c_com), building: get(c_bld), unit: get(c_unit) };
            match rec.get(c_rec).unwrap_or("") {
                "unit" => {
                    f.units.insert(key, UnitRecord { exclusive_area_m2: get(c_area), area_source: get(c_src), owners: vec![] });
                }
                "owner" => owner_lines.push((key, get(c_name), get(c_otype), get(c_id))),
                _ => {}
            }
        }
        for (key, name, otype, id) in owner_lines {
            if otype != "person" {
                continue;
            }
            f.persons.insert(id.to_ascii_uppercase(), name.clone());
            if let Some(u) = f.units.get_mut(&key) {
                u.owners.push((name, id));
            }
        }

        let index = fixtures.join("faces").join("index.csv");
        if index.exists() {
            let mut rdr = csv::Reader::from_path(&index).with_context(|| format!("reading {}", index.display()))?;
            for rec in rdr.records() {
                let rec = rec?;
                let (Some(id), Some(name), Some(file)) = (rec.get(0), rec.get(1), rec.get(2)) else {
                    bail!("{}: each line is id_number,name,file", index.display());
                };
                if file.contains('/') || file.contains("..") {
                    bail!("{}: file names only", index.display());
                }
                let path = fixtures.join("faces").join(file);
                let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let thumbnail = crate::faceid::thumbnail(&bytes).with_context(|| format!("decoding {}", path.display()))?;
                f.face_persons.push(FacePerson {
                    id_number: id.to_owned(),
                    name: name.to_owned(),
                    face_image: format!("faces/{file}"),
                    face_image_path: std::path::absolute(&path).unwrap_or(path),
                    thumbnail,
                });
            }
        }
        Ok(f)
    }

    /// The name and reference thumbnail of a person owner: the committed image for the persons of
    /// `faces/index.csv`, else the image derived from the ID number. None for an ID number not in the register.
    pub fn reference(&self, id_number: &str) -> Option<(String, [f64; 256])> {
        if let Some(p) = self.face_persons.iter().find(|p| p.id_number.eq_ignore_ascii_case(id_number)) {
            return Some((p.name.clone(), p.thumbnail));
        }
        let name = self.persons.get(&id_number.to_ascii_uppercase())?;
        Some((name.clone(), crate::faceid::thumbnail_of(&crate::faces::derived_face(id_number))))
    }

    /// The reference image a person's selfie must resemble, as PNG (committed file or derived image).
    pub fn reference_png(&self, id_number: &str) -> Option<anyhow::Result<Vec<u8>>> {
        if let Some(p) = self.face_persons.iter().find(|p| p.id_number.eq_ignore_ascii_case(id_number)) {
            return Some(std::fs::read(&p.face_image_path).map_err(anyhow::Error::from));
        }
        self.persons.contains_key(&id_number.to_ascii_uppercase()).then(|| crate::faces::derived_face_png(id_number))
    }

    /// Every person owner with the units they (co-)own, sorted by ID number; units sorted.
    pub fn person_owners(&self) -> Vec<(String, String, Vec<UnitKey>)> {
        let mut units: HashMap<&str, Vec<UnitKey>> = HashMap::new();
        for (k, u) in &self.units {
            for (_, id) in &u.owners {
                units.entry(id.as_str()).or_default().push(k.clone());
            }
        }
        let mut out: Vec<(String, String, Vec<UnitKey>)> = units
            .into_iter()
            .map(|(id, mut v)| {
                v.sort_by(|a, b| (&a.community, &a.building, &a.unit).cmp(&(&b.community, &b.building, &b.unit)));
                let name = self.persons.get(&id.to_ascii_uppercase()).cloned().unwrap_or_default();
                (id.to_owned(), name, v)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Units owned by a person.
    pub fn units_of(&self, id_number: &str) -> Vec<UnitKey> {
        let mut v: Vec<UnitKey> =
            self.units.iter().filter(|(_, u)| u.owners.iter().any(|(_, id)| id == id_number)).map(|(k, _)| k.clone()).collect();
        v.sort_by(|a, b| (&a.community, &a.building, &a.unit).cmp(&(&b.community, &b.building, &b.unit)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed face index must match the committed demo register (rerun `fixtures/faces/gen_faces.py`
    /// after changing the register).
    #[test]
    fn committed_faces_belong_to_register_owners() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let f = Fixtures::load(&fixtures.join("demo-register.csv"), &fixtures).unwrap();
        assert_eq!(f.face_persons.len(), 20);
        for p in &f.face_persons {
            assert_eq!(f.persons.get(&p.id_number), Some(&p.name), "{}", p.face_image);
            assert!(!f.units_of(&p.id_number).is_empty(), "{}", p.face_image);
        }
    }

    fn load_demo() -> Fixtures {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        Fixtures::load(&fixtures.join("demo-register.csv"), &fixtures).unwrap()
    }

    /// No person owner's reference image passes as another's: every pair of the ~1,000 references (committed and
    /// derived) scores far below the pass mark of 70.
    #[test]
    fn every_person_owner_has_a_reference_far_from_every_other() {
        let f = load_demo();
        let owners = f.person_owners();
        assert!(owners.len() > 900, "{}", owners.len());
        assert_eq!(owners.len(), f.persons.len());
        // Centred, unit-length thumbnails: the Pearson correlation is then a dot product.
        let unit: Vec<[f64; 256]> = owners
            .iter()
            .map(|(id, name, units)| {
                assert!(!units.is_empty() && !name.is_empty(), "{id}");
                let (n, mut t) = f.reference(id).unwrap();
                assert_eq!(&n, name);
                let mean = t.iter().sum::<f64>() / 256.0;
                t.iter_mut().for_each(|v| *v -= mean);
                let norm = t.iter().map(|v| v * v).sum::<f64>().sqrt();
                t.iter_mut().for_each(|v| *v /= norm);
                t
            })
            .collect();
        let mut worst = 0f64;
        for (i, a) in unit.iter().enumerate() {
            for b in &unit[i + 1..] {
                worst = worst.max(a.iter().zip(b).map(|(x, y)| x * y).sum());
            }
        }
        assert!(worst * 100.0 < 50.0, "two persons' references correlate at {worst}");
    }

    #[test]
    fn committed_faces_keep_precedence_and_unknown_ids_have_none() {
        let f = load_demo();
        let p = &f.face_persons[0];
        assert_eq!(f.reference(&p.id_number).unwrap().1, p.thumbnail);
        assert_eq!(f.reference_png(&p.id_number).unwrap().unwrap(), std::fs::read(&p.face_image_path).unwrap());
        assert!(f.reference("000000000000000000").is_none());
        assert!(f.reference_png("000000000000000000").is_none());
    }
}
