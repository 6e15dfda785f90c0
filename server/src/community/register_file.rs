//! Parsing and validating a register CSV (format: `fixtures/README.md`). Pure: bytes in, a validated
//! [`Register`] or every problem with its line number out. Nothing is imported unless the whole file is valid.
//!
//! Messages never repeat an ID number or a phone number: a line number and the problem are enough to find it.

use std::collections::BTreeMap;

use linli_identity::{IdNumber, PhoneNumber};

use super::domain::{AreaCentiM2, AreaSource, CreditCode, DeveloperHolding, IdDocument, UnitKind, valid_community_code};

/// The columns of a register file. A file may leave out the last one, `id_type` (files written before it
/// existed have 13 columns); then every owner holds the default document of its type.
pub const HEADER: [&str; 14] = [
    "record",
    "community",
    "building",
    "unit",
    "name",
    "kind",
    "exclusive_area_m2",
    "area_source",
    "building_area_m2",
    "owner_type",
    "id_number",
    "phone",
    "holding",
    "id_type",
];

/// Columns of a file without `id_type`.
const LEGACY_COLUMNS: usize = 13;

/// A file larger than this is refused before parsing (the largest real communities have a few tens of thousands
/// of units; a line is about 100 bytes).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
const MAX_NAME_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, Clone)]
pub struct Register {
    pub community_code: String,
    pub community_name: String,
    pub buildings: Vec<BuildingRecord>,
    pub units: Vec<UnitRecord>,
    pub owners: Vec<OwnerRecord>,
}

#[derive(Debug, Clone)]
pub struct BuildingRecord {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct UnitRecord {
    pub line: u64,
    pub building: String,
    pub number: String,
    pub kind: UnitKind,
    pub exclusive_area: AreaCentiM2,
    pub area_source: AreaSource,
    pub building_area: AreaCentiM2,
}

#[derive(Debug, Clone)]
pub enum OwnerIdentity {
    /// A natural person with a resident identity number.
    Person(IdNumber),
    /// A natural person with a non-PRC identity document (passport, Hong Kong/Macao or Taiwan permit).
    ForeignDocument(IdDocument),
    /// An organisation other than the developer, by its unified social credit code.
    Organisation(CreditCode),
    /// A developer, for the units it has not sold or not delivered. A register may name several developers.
    Developer { code: CreditCode, holding: DeveloperHolding },
}

impl OwnerIdentity {
    /// The identity's text, unique across kinds (an ID number, a credit code, `passport:GBR:…`): encrypted and
    /// blind-indexed as `persons.id_number`.
    pub fn key(&self) -> &str {
        match self {
            Self::Person(id) => id.expose(),
            Self::ForeignDocument(doc) => doc.key(),
            Self::Organisation(code) | Self::Developer { code, .. } => code.as_str(),
        }
    }

    /// `persons.kind`.
    pub fn person_kind(&self) -> &'static str {
        match self {
            Self::Person(_) | Self::ForeignDocument(_) => "natural",
            Self::Organisation(_) => "organisation",
            Self::Developer { .. } => "developer",
        }
    }

    /// `persons.id_type`: which document `key` is.
    pub fn id_type(&self) -> &'static str {
        match self {
            Self::Person(_) => "resident_id",
            Self::ForeignDocument(doc) => doc.kind().column(),
            Self::Organisation(_) | Self::Developer { .. } => "credit_code",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OwnerRecord {
    pub line: u64,
    pub building: String,
    pub unit: String,
    pub name: String,
    pub identity: OwnerIdentity,
    pub phone: Option<PhoneNumber>,
}

/// (building code, unit number)
type UnitKey = (String, String);

struct Line<'a> {
    number: u64,
    fields: &'a csv::StringRecord,
}

impl Line<'_> {
    fn get(&self, column: &str) -> &str {
        HEADER.iter().position(|c| *c == column).and_then(|i| self.fields.get(i)).map(str::trim).unwrap_or("")
    }
}

fn valid_code(code: &str) -> bool {
    (1..=32).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=MAX_NAME_CHARS).contains(&n) && !name.chars().any(char::is_control)
}

pub fn parse_register(bytes: &[u8]) -> Result<Register, Vec<LineError>> {
    let mut errors = Vec::new();
    let mut err = |line: u64, message: String| errors.push(LineError { line, message });
    if bytes.len() > MAX_FILE_BYTES {
        err(0, format!("the file is larger than {} MiB", MAX_FILE_BYTES / 1024 / 1024));
        return Err(errors);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);

    let mut records = Vec::new();
    for (index, result) in reader.records().enumerate() {
        let line = index as u64 + 1;
        match result {
            Ok(record) => records.push((record.position().map_or(line, |p| p.line()), record)),
            Err(e) => err(e.position().map_or(line, |p| p.line()), format!("unreadable CSV: {}", csv_error_kind(&e))),
        }
    }
    let Some((_, header)) = records.first() else {
        err(1, "the file is empty".to_owned());
        return Err(errors);
    };
    let header: Vec<&str> = header.iter().map(str::trim).collect();
    let columns = header.len();
    if header != HEADER[..columns.min(HEADER.len())] || (columns != HEADER.len() && columns != LEGACY_COLUMNS) {
        err(1, format!("the header must be: {} (id_type may be left out)", HEADER.join(",")));
        return Err(errors);
    }

    let mut community: Option<(String, String)> = None;
    let mut buildings: BTreeMap<String, (u64, BuildingRecord)> = BTreeMap::new();
    let mut units: BTreeMap<(String, String), UnitRecord> = BTreeMap::new();
    let mut owner_lines: Vec<(u64, csv::StringRecord)> = Vec::new();
    let mut unit_lines: Vec<(u64, csv::StringRecord)> = Vec::new();

    for (number, fields) in records.iter().skip(1) {
        let line = Line { number: *number, fields };
        if fields.len() != columns {
            err(line.number, format!("expected {columns} columns, found {}", fields.len()));
            continue;
        }
        let record = line.get("record");
        if record != "community" {
            match &community {
                None => {
                    err(line.number, "the first record must be the community".to_owned());
                    continue;
                }
                Some((code, _)) if line.get("community") != code => {
                    err(line.number, format!("unknown community {:?}", line.get("community")));
                    continue;
                }
                Some(_) => {}
            }
        }
        match record {
            "community" => {
                let (code, name) = (line.get("community"), line.get("name"));
                if community.is_some() {
                    err(line.number, "a file holds exactly one community".to_owned());
                } else if !valid_community_code(code) {
                    err(line.number, format!("community code {code:?} must match [A-Z0-9-]{{3,32}}"));
                } else if !valid_name(name) {
                    err(line.number, "community name must be 1–200 characters".to_owned());
                } else {
                    community = Some((code.to_owned(), name.to_owned()));
                }
            }
            "building" => {
                let (code, name) = (line.get("building"), line.get("name"));
                if !valid_code(code) {
                    err(line.number, format!("building code {code:?} must be 1–32 letters, digits or '-'"));
                } else if !valid_name(name) {
                    err(line.number, "building name must be 1–200 characters".to_owned());
                } else if let Some((first, _)) = buildings.get(code) {
                    err(line.number, format!("building {code} is declared twice (first on line {first})"));
                } else {
                    buildings.insert(
                        code.to_owned(),
                        (line.number, BuildingRecord { code: code.to_owned(), name: name.to_owned() }),
                    );
                }
            }
            "unit" => unit_lines.push((line.number, fields.clone())),
            "owner" => owner_lines.push((line.number, fields.clone())),
            other => err(line.number, format!("unknown record type {other:?}")),
        }
    }

    for (number, fields) in &unit_lines {
        let line = Line { number: *number, fields };
        let (building, unit) = (line.get("building"), line.get("unit"));
        if !buildings.contains_key(building) {
            err(line.number, format!("unknown building {building:?}"));
            continue;
        }
        if !valid_code(unit) {
            err(line.number, format!("unit number {unit:?} must be 1–32 letters, digits or '-'"));
            continue;
        }
        let Some(kind) = UnitKind::parse(line.get("kind")) else {
            err(line.number, format!("unit kind {:?} must be residence, commercial or parking", line.get("kind")));
            continue;
        };
        let exclusive = match AreaCentiM2::parse_m2(line.get("exclusive_area_m2")) {
            Ok(a) => a,
            Err(e) => {
                err(line.number, format!("exclusive_area_m2: {e}"));
                continue;
            }
        };
        let built = match AreaCentiM2::parse_m2(line.get("building_area_m2")) {
            Ok(a) => a,
            Err(e) => {
                err(line.number, format!("building_area_m2: {e}"));
                continue;
            }
        };
        let Some(source) = AreaSource::parse(line.get("area_source")) else {
            err(line.number, format!("area_source {:?} must be register, surveyed or contract", line.get("area_source")));
            continue;
        };
        if built < exclusive {
            err(line.number, format!("building area {built} m² is smaller than the exclusive area {exclusive} m²"));
            continue;
        }
        let key = (building.to_owned(), unit.to_owned());
        if let Some(first) = units.get(&key) {
            err(line.number, format!("unit {building}-{unit} is declared twice (first on line {})", first.line));
            continue;
        }
        units.insert(
            key,
            UnitRecord {
                line: line.number,
                building: building.to_owned(),
                number: unit.to_owned(),
                kind,
                exclusive_area: exclusive,
                area_source: source,
                building_area: built,
            },
        );
    }

    let mut owners = Vec::new();
    let mut name_of: BTreeMap<String, (u64, String)> = BTreeMap::new();
    // credit code → (first line, whether as a developer): one organisation is either a developer or an owner
    // of units it bought, never both in one register.
    let mut organisation_role: BTreeMap<String, (u64, bool)> = BTreeMap::new();
    // unit → (line, is developer, owner key) of each holder
    let mut per_unit: BTreeMap<UnitKey, Vec<(u64, bool, String)>> = BTreeMap::new();
    for (number, fields) in &owner_lines {
        let line = Line { number: *number, fields };
        let (building, unit, name) = (line.get("building"), line.get("unit"), line.get("name"));
        let key = (building.to_owned(), unit.to_owned());
        if !units.contains_key(&key) {
            err(line.number, format!("owner of unknown unit {building}-{unit}"));
            continue;
        }
        // A unit whose owner lines are all bad is reported through those lines, not again as ownerless.
        per_unit.entry(key.clone()).or_default();
        if !valid_name(name) {
            err(line.number, "owner name must be 1–200 characters".to_owned());
            continue;
        }
        let phone = match line.get("phone") {
            "" => None,
            p => match PhoneNumber::parse(p) {
                Ok(p) => Some(p),
                Err(e) => {
                    err(line.number, format!("phone: {e}"));
                    continue;
                }
            },
        };
        let owner_type = line.get("owner_type");
        if owner_type != "developer" && !line.get("holding").is_empty() {
            err(line.number, "holding applies only to the developer".to_owned());
            continue;
        }
        if owner_type != "person" && !line.get("id_type").is_empty() {
            err(line.number, "id_type applies only to persons (organisations are named by their credit code)".to_owned());
            continue;
        }
        let identity = match owner_type {
            "person" => match line.get("id_type") {
                "" | "resident_id" => match IdNumber::parse(line.get("id_number")) {
                    Ok(id) => OwnerIdentity::Person(id),
                    Err(e) => {
                        err(line.number, format!("id_number: {e}"));
                        continue;
                    }
                },
                kind => match IdDocument::parse(kind, line.get("id_number")) {
                    Ok(doc) => OwnerIdentity::ForeignDocument(doc),
                    Err(e) => {
                        err(line.number, format!("id_number: {e}"));
                        continue;
                    }
                },
            },
            "organisation" => match CreditCode::parse(line.get("id_number")) {
                Ok(code) => OwnerIdentity::Organisation(code),
                Err(e) => {
                    err(line.number, format!("id_number (credit code): {e}"));
                    continue;
                }
            },
            "developer" => {
                let code = match CreditCode::parse(line.get("id_number")) {
                    Ok(c) => c,
                    Err(e) => {
                        err(line.number, format!("id_number (credit code): {e}"));
                        continue;
                    }
                };
                let Some(holding) = DeveloperHolding::parse(line.get("holding")) else {
                    err(line.number, "a developer-held unit needs holding unsold or undelivered".to_owned());
                    continue;
                };
                OwnerIdentity::Developer { code, holding }
            }
            other => {
                err(line.number, format!("owner_type {other:?} must be person, organisation or developer"));
                continue;
            }
        };
        match name_of.get(identity.key()) {
            Some((first, known)) if known != name => {
                err(
                    line.number,
                    format!("conflicting owners: the same ID number is named differently on line {first}"),
                );
                continue;
            }
            Some(_) => {}
            None => {
                name_of.insert(identity.key().to_owned(), (line.number, name.to_owned()));
            }
        }
        let is_developer = matches!(identity, OwnerIdentity::Developer { .. });
        if let OwnerIdentity::Organisation(code) | OwnerIdentity::Developer { code, .. } = &identity {
            match organisation_role.get(code.as_str()) {
                Some((first, as_developer)) if *as_developer != is_developer => {
                    err(
                        line.number,
                        format!("conflicting owners: this credit code is a developer on one line and an organisation owner on the other (line {first})"),
                    );
                    continue;
                }
                Some(_) => {}
                None => {
                    organisation_role.insert(code.as_str().to_owned(), (line.number, is_developer));
                }
            }
        }
        let holders = per_unit.entry(key).or_default();
        if let Some((first, _, _)) = holders.iter().find(|(_, _, k)| k == identity.key()) {
            err(line.number, format!("the same owner is listed twice for {building}-{unit} (first on line {first})"));
            continue;
        }
        if let Some((first, _, _)) = holders.iter().find(|(_, dev, _)| *dev != is_developer || *dev) {
            err(
                line.number,
                format!("conflicting owners of {building}-{unit}: a developer-held unit has no other owner (see line {first})"),
            );
            continue;
        }
        holders.push((line.number, is_developer, identity.key().to_owned()));
        owners.push(OwnerRecord {
            line: line.number,
            building: building.to_owned(),
            unit: unit.to_owned(),
            name: name.to_owned(),
            identity,
            phone,
        });
    }

    for (key, unit) in &units {
        if !per_unit.contains_key(key) {
            // No owner line names this unit at all.
            err(unit.line, format!("unit {}-{} has no owner", unit.building, unit.number));
        }
    }
    let Some((community_code, community_name)) = community else {
        if errors.is_empty() {
            errors.push(LineError { line: 2, message: "the file declares no community".to_owned() });
        }
        errors.sort_by_key(|e| e.line);
        return Err(errors);
    };
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(errors);
    }
    Ok(Register {
        community_code,
        community_name,
        buildings: buildings.into_values().map(|(_, b)| b).collect(),
        units: units.into_values().collect(),
        owners,
    })
}

fn csv_error_kind(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the file is not UTF-8".to_owned(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("expected {expected_len} columns, found {len}")
        }
        _ => "malformed CSV".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "record,community,building,unit,name,kind,exclusive_area_m2,area_source,building_area_m2,owner_type,id_number,phone,holding\n";

    fn file(body: &str) -> Vec<u8> {
        format!("{HEAD}community,T-001,,,测试小区,,,,,,,,\nbuilding,T-001,B1,,1号楼,,,,,,,,\n{body}").into_bytes()
    }

    const UNIT: &str = "unit,T-001,B1,0101,,residence,89.35,register,100.00,,,,\n";
    const OWNER: &str = "owner,T-001,B1,0101,张三,,,,,person,11010519491231002X,13800138000,\n";

    fn errors(body: &str) -> Vec<LineError> {
        parse_register(&file(body)).unwrap_err()
    }

    #[test]
    fn a_valid_file_parses() {
        let r = parse_register(&file(&format!("{UNIT}{OWNER}"))).unwrap();
        assert_eq!(r.community_code, "T-001");
        assert_eq!(r.units.len(), 1);
        assert_eq!(r.units[0].exclusive_area.get(), 8935);
        assert_eq!(r.owners.len(), 1);
    }

    #[test]
    fn unknown_building_names_its_line() {
        let e = errors(&format!("{UNIT}{OWNER}unit,T-001,B9,0101,,residence,50.00,register,60.00,,,,\n"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].line, 6);
        assert!(e[0].message.contains("unknown building"));
    }

    #[test]
    fn zero_and_negative_areas() {
        let e = errors("unit,T-001,B1,0101,,residence,0,register,100.00,,,,\nunit,T-001,B1,0102,,residence,-3.5,register,100.00,,,,\n");
        assert_eq!(e.iter().map(|e| e.line).collect::<Vec<_>>(), vec![4, 5]);
        assert!(e.iter().all(|e| e.message.contains("greater than zero")));
    }

    #[test]
    fn bad_check_digit_is_refused_and_masked() {
        let e = errors(&format!("{UNIT}owner,T-001,B1,0101,张三,,,,,person,110105194912310021,,\n"));
        assert_eq!(e[0].line, 5);
        assert!(e[0].message.contains("check character"));
        assert!(!e[0].message.contains("110105194912310021"));
    }

    #[test]
    fn duplicate_unit() {
        let e = errors(&format!("{UNIT}{UNIT}{OWNER}"));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 5);
        assert!(e[0].message.contains("declared twice (first on line 4)"));
    }

    #[test]
    fn conflicting_owner_names() {
        let e = errors(&format!(
            "{UNIT}unit,T-001,B1,0102,,residence,50.00,register,60.00,,,,\n{OWNER}owner,T-001,B1,0102,李四,,,,,person,11010519491231002X,,\n"
        ));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 7);
        assert!(e[0].message.contains("conflicting owners"));
    }

    #[test]
    fn developer_and_person_on_one_unit_conflict() {
        let e = errors(&format!("{UNIT}{OWNER}owner,T-001,B1,0101,某置业,,,,,developer,9144030071526726XG,,unsold\n"));
        assert_eq!(e[0].line, 6);
        assert!(e[0].message.contains("developer-held unit"));
    }

    #[test]
    fn unit_without_owner_and_owner_without_unit() {
        let e = errors(&format!("{UNIT}owner,T-001,B1,0999,张三,,,,,person,11010519491231002X,,\n"));
        assert_eq!(e.iter().map(|e| e.line).collect::<Vec<_>>(), vec![4, 5]);
    }

    #[test]
    fn co_owners_and_developer_units() {
        let r = parse_register(&file(&format!(
            "{UNIT}{OWNER}owner,T-001,B1,0101,李四,,,,,person,110105199003070017,,\nunit,T-001,B1,0102,,residence,50.00,register,60.00,,,,\nowner,T-001,B1,0102,某置业,,,,,developer,9144030071526726XG,,undelivered\n"
        )));
        let r = match r {
            Ok(r) => r,
            Err(e) => panic!("{e:?}"),
        };
        assert_eq!(r.owners.len(), 3);
    }

    /// A file with the `id_type` column (14 columns).
    fn file14(body: &str) -> Vec<u8> {
        format!(
            "{},id_type\ncommunity,T-001,,,测试小区,,,,,,,,,\nbuilding,T-001,B1,,1号楼,,,,,,,,,\n{body}",
            HEAD.trim_end()
        )
        .into_bytes()
    }

    const UNIT14: &str = "unit,T-001,B1,0101,,residence,89.35,register,100.00,,,,,\nunit,T-001,B1,0102,,residence,50.00,register,60.00,,,,,\nunit,T-001,B1,0103,,residence,70.00,register,80.00,,,,,\nunit,T-001,B1,0104,,residence,60.00,register,70.00,,,,,\n";

    #[test]
    fn organisations_foreign_documents_and_two_developers_parse() {
        let r = parse_register(&file14(&format!(
            "{UNIT14}\
             owner,T-001,B1,0101,某贸易有限公司,,,,,organisation,91330100799655058b,,,\n\
             owner,T-001,B1,0101,John Smith,,,,,person,e1234567,,,passport:GBR\n\
             owner,T-001,B1,0102,陈大文,,,,,person,H12345678,,,hk_macao_permit\n\
             owner,T-001,B1,0103,某置业,,,,,developer,9144030071526726XG,,unsold,\n\
             owner,T-001,B1,0104,另一置业,,,,,developer,91310000MA1FL1234Q,,undelivered,\n"
        )));
        let r = match r {
            Ok(r) => r,
            Err(e) => panic!("{e:?}"),
        };
        let kinds: Vec<(&str, &str, &str)> = r.owners.iter().map(|o| (o.identity.person_kind(), o.identity.id_type(), o.identity.key())).collect();
        assert_eq!(
            kinds,
            [
                ("organisation", "credit_code", "91330100799655058B"),
                ("natural", "passport", "passport:GBR:E1234567"),
                ("natural", "hk_macao_permit", "hk_macao_permit:H12345678"),
                ("developer", "credit_code", "9144030071526726XG"),
                ("developer", "credit_code", "91310000MA1FL1234Q"),
            ]
        );
    }

    #[test]
    fn bad_credit_codes_and_documents_are_refused_with_their_line() {
        let e = parse_register(&file14(&format!(
            "{UNIT14}\
             owner,T-001,B1,0101,某贸易有限公司,,,,,organisation,91330100799655058C,,,\n\
             owner,T-001,B1,0102,某贸易有限公司,,,,,organisation,9133010079965505,,,\n\
             owner,T-001,B1,0103,John Smith,,,,,person,E12-4567,,,passport:GBR\n\
             owner,T-001,B1,0104,John Smith,,,,,person,E1234567,,,passport\n"
        )))
        .unwrap_err();
        assert_eq!(e.iter().map(|e| e.line).collect::<Vec<_>>(), vec![8, 9, 10, 11], "{e:?}");
        assert!(e[0].message.contains("check character"), "{e:?}");
        assert!(e[1].message.contains("18 characters"), "{e:?}");
        assert!(e[2].message.contains("passport number") && !e[2].message.contains("E12-4567"), "{e:?}");
        assert!(e[3].message.contains("id_type"), "{e:?}");
    }

    #[test]
    fn a_unit_has_one_developer_and_a_developer_is_no_buying_organisation() {
        let e = parse_register(&file14(&format!(
            "{UNIT14}\
             owner,T-001,B1,0101,某置业,,,,,developer,9144030071526726XG,,unsold,\n\
             owner,T-001,B1,0101,另一置业,,,,,developer,91310000MA1FL1234Q,,unsold,\n\
             owner,T-001,B1,0102,某置业,,,,,organisation,9144030071526726XG,,,\n\
             owner,T-001,B1,0103,某贸易有限公司,,,,,organisation,91330100799655058B,,,passport:GBR\n\
             owner,T-001,B1,0104,张三,,,,,person,11010519491231002X,,,\n"
        )))
        .unwrap_err();
        assert_eq!(e.iter().map(|e| e.line).collect::<Vec<_>>(), vec![9, 10, 11], "{e:?}");
        assert!(e[0].message.contains("developer-held unit has no other owner"), "{e:?}");
        assert!(e[1].message.contains("developer on one line and an organisation owner"), "{e:?}");
        assert!(e[2].message.contains("id_type applies only to persons"), "{e:?}");
    }

    #[test]
    fn wrong_header_and_ragged_lines() {
        assert_eq!(parse_register(b"a,b\n").unwrap_err()[0].line, 1);
        let e = errors("unit,T-001\n");
        assert_eq!(e[0].line, 4);
    }

    #[test]
    fn foreign_community_lines_are_refused() {
        let e = errors("building,X-999,B2,,2号楼,,,,,,,,\n");
        assert!(e[0].message.contains("unknown community"));
    }
}
