//! The sandbox's knowledge of the world: the register (who owns which unit, with which area) and the demo
//! persons' reference face images.

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
    /// id_number → name, for every person owner in the register.
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
            f.persons.insert(id.clone(), name.clone());
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
}
