//! Vehicle plates of the PRC (GA 36-2018, DESIGN §8), parsed once at the edge into [`Plate`]. A plain function over
//! plain data: no database here.
//!
//! - Ordinary plates: province abbreviation, the issuing authority's letter, 5 serial characters (digits and
//!   letters, never I or O): `粤B12345`, blue (small vehicles) or yellow (large).
//! - New-energy plates have a 6-character serial: small vehicles (green) put the energy letter first — D A B C E
//!   battery-electric, F G H J K other new energy — then a letter or digit and 4 digits (`粤BD12345`, `粤BDF1234`);
//!   large vehicles (yellow-green) have 5 digits and the energy letter last (`粤B12345D`).
//! - Special plates end in a character naming their use: 学 (driving-school cars, yellow), 挂 (trailers, yellow),
//!   警 (police, white), 领 (consulates, black, 4 digits), 港 and 澳 (Hong Kong and Macao vehicles entering from
//!   Guangdong, black, always 粤Z); embassy plates are 使 and 6 digits (black).
//!
//! Input may be full-width or lower case and carry spaces or the middle dot printed on plates (`粤B·12345`).

use std::fmt;

/// The 31 provincial abbreviations plates begin with.
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
/// Energy letters of new-energy plates: battery-electric, then other new energy (plug-in hybrid, fuel cell).
const ELECTRIC: &str = "DABCE";
const OTHER_NEW_ENERGY: &str = "FGHJK";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlateColor {
    Blue,
    Yellow,
    Green,
    YellowGreen,
    White,
    Black,
}

impl PlateColor {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "blue" => Self::Blue,
            "yellow" => Self::Yellow,
            "green" => Self::Green,
            "yellow_green" => Self::YellowGreen,
            "white" => Self::White,
            "black" => Self::Black,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blue => "blue",
            Self::Yellow => "yellow",
            Self::Green => "green",
            Self::YellowGreen => "yellow_green",
            Self::White => "white",
            Self::Black => "black",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlateKind {
    Ordinary,
    /// Small new-energy vehicle; `electric` false for the other new-energy letters.
    NewEnergySmall { electric: bool },
    NewEnergyLarge { electric: bool },
    DrivingSchool,
    Trailer,
    Police,
    Consulate,
    HongKong,
    Macao,
    Embassy,
}

impl PlateKind {
    /// The colours a plate of this kind is issued in.
    pub fn colors(self) -> &'static [PlateColor] {
        use PlateColor::*;
        match self {
            Self::Ordinary => &[Blue, Yellow],
            Self::NewEnergySmall { .. } => &[Green],
            Self::NewEnergyLarge { .. } => &[YellowGreen],
            Self::DrivingSchool | Self::Trailer => &[Yellow],
            Self::Police => &[White],
            Self::Consulate | Self::HongKong | Self::Macao | Self::Embassy => &[Black],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ordinary => "ordinary",
            Self::NewEnergySmall { .. } => "new_energy_small",
            Self::NewEnergyLarge { .. } => "new_energy_large",
            Self::DrivingSchool => "driving_school",
            Self::Trailer => "trailer",
            Self::Police => "police",
            Self::Consulate => "consulate",
            Self::HongKong => "hong_kong",
            Self::Macao => "macao",
            Self::Embassy => "embassy",
        }
    }
}

/// A plate as the register and the gates compare it: normalised text, its kind and colour.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Plate {
    text: String,
    kind: PlateKind,
    color: PlateColor,
}

impl Plate {
    pub fn as_str(&self) -> &str {
        &self.text
    }
    pub fn kind(&self) -> PlateKind {
        self.kind
    }
    pub fn color(&self) -> PlateColor {
        self.color
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What is wrong with a plate (the `detail` of a 422 `plate_invalid`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlateError {
    #[error("a plate has 7 or 8 characters, this one {0}")]
    Length(usize),
    #[error("a plate begins with a province's abbreviation (京, 沪, 粤, …), not {0:?}")]
    Province(char),
    #[error("the second character is the issuing authority's letter (A–Z, never I), not {0:?}")]
    Authority(char),
    #[error("serial characters are digits or letters other than I and O, not {0:?}")]
    SerialCharacter(char),
    #[error("a new-energy plate's energy letter is one of D A B C E (electric) or F G H J K, first for small vehicles, last for large ones")]
    EnergyLetter,
    #[error("a small new-energy plate has a letter or digit and then 4 digits after its energy letter")]
    SmallNewEnergySerial,
    #[error("a large new-energy plate has 5 digits before its energy letter")]
    LargeNewEnergySerial,
    #[error("a {0} plate has 4 digits or letters before {1}")]
    SpecialSerial(&'static str, char),
    #[error("a consulate plate has 4 digits before 领")]
    ConsulateSerial,
    #[error("Hong Kong and Macao plates are issued in Guangdong as 粤Z")]
    CrossBorderPrefix,
    #[error("an embassy plate is 使 and 6 digits")]
    EmbassySerial,
    #[error("unknown colour {0:?}: blue, yellow, green, yellow_green, white or black")]
    UnknownColor(String),
    #[error("a {kind} plate is {allowed}, not {given}")]
    ColorMismatch { kind: &'static str, allowed: String, given: &'static str },
}

/// Full-width forms to ASCII, ASCII to upper case, spaces and the plate's middle dot dropped.
pub fn normalise(input: &str) -> String {
    input
        .chars()
        .filter_map(|c| {
            let c = match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                '\u{3000}' => ' ',
                c => c,
            };
            (!(c.is_whitespace() || matches!(c, '·' | '•' | '・' | '.' | '-'))).then(|| c.to_ascii_uppercase())
        })
        .collect()
}

fn serial_char(c: char) -> Result<(), PlateError> {
    if (c.is_ascii_digit() || c.is_ascii_uppercase()) && c != 'I' && c != 'O' { Ok(()) } else { Err(PlateError::SerialCharacter(c)) }
}

/// Parses a plate and its colour as a resident or a gate gives them.
pub fn parse_plate(input: &str, color: &str) -> Result<Plate, PlateError> {
    let text = normalise(input);
    let color_given = PlateColor::parse(color.trim()).ok_or_else(|| PlateError::UnknownColor(color.chars().take(32).collect()))?;
    let kind = plate_kind(&text)?;
    if !kind.colors().contains(&color_given) {
        let allowed = kind.colors().iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" or ");
        return Err(PlateError::ColorMismatch { kind: kind.as_str(), allowed, given: color_given.as_str() });
    }
    Ok(Plate { text, kind, color: color_given })
}

/// The kind of a normalised plate text, or what is wrong with it.
pub fn plate_kind(text: &str) -> Result<PlateKind, PlateError> {
    let chars: Vec<char> = text.chars().collect();
    if chars.first() == Some(&'使') {
        return if chars.len() == 7 && chars[1..].iter().all(char::is_ascii_digit) { Ok(PlateKind::Embassy) } else { Err(PlateError::EmbassySerial) };
    }
    if chars.len() != 7 && chars.len() != 8 {
        return Err(PlateError::Length(chars.len()));
    }
    if !PROVINCES.contains(chars[0]) {
        return Err(PlateError::Province(chars[0]));
    }
    if !chars[1].is_ascii_uppercase() || chars[1] == 'I' {
        return Err(PlateError::Authority(chars[1]));
    }
    let serial = &chars[2..];
    let last = *serial.last().unwrap_or(&' ');
    if chars.len() == 7 && !last.is_ascii_alphanumeric() {
        let body = &serial[..4];
        let kind = match last {
            '学' => PlateKind::DrivingSchool,
            '挂' => PlateKind::Trailer,
            '警' => PlateKind::Police,
            '领' => PlateKind::Consulate,
            '港' => PlateKind::HongKong,
            '澳' => PlateKind::Macao,
            c => return Err(PlateError::SerialCharacter(c)),
        };
        match kind {
            PlateKind::Consulate if !body.iter().all(char::is_ascii_digit) => return Err(PlateError::ConsulateSerial),
            PlateKind::HongKong | PlateKind::Macao if chars[..2] != ['粤', 'Z'] => return Err(PlateError::CrossBorderPrefix),
            _ => {}
        }
        for &c in body {
            serial_char(c).map_err(|_| PlateError::SpecialSerial(kind.as_str(), last))?;
        }
        return Ok(kind);
    }
    for &c in serial {
        serial_char(c)?;
    }
    if chars.len() == 7 {
        return Ok(PlateKind::Ordinary);
    }
    // Eight characters: a new-energy plate, the energy letter first (small) or last (large).
    let energy = |c: char| {
        if ELECTRIC.contains(c) {
            Some(true)
        } else if OTHER_NEW_ENERGY.contains(c) {
            Some(false)
        } else {
            None
        }
    };
    let digits = |s: &[char]| s.iter().all(char::is_ascii_digit);
    match (energy(serial[0]), energy(last)) {
        (Some(electric), _) => {
            if digits(&serial[2..]) {
                Ok(PlateKind::NewEnergySmall { electric })
            } else {
                Err(PlateError::SmallNewEnergySerial)
            }
        }
        (None, Some(electric)) => {
            if digits(&serial[..5]) {
                Ok(PlateKind::NewEnergyLarge { electric })
            } else {
                Err(PlateError::LargeNewEnergySerial)
            }
        }
        _ => Err(PlateError::EnergyLetter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_plates_of_every_kind() {
        use PlateKind::*;
        let cases: &[(&str, &str, &str, PlateKind)] = &[
            ("粤B12345", "blue", "粤B12345", Ordinary),
            ("沪A·8K3J9", "yellow", "沪A8K3J9", Ordinary),
            ("京O12345", "blue", "京O12345", Ordinary),
            ("琼ZAB123", "blue", "琼ZAB123", Ordinary),
            ("粤BD12345", "green", "粤BD12345", NewEnergySmall { electric: true }),
            ("粤BDF1234", "green", "粤BDF1234", NewEnergySmall { electric: true }),
            ("浙AK01234", "green", "浙AK01234", NewEnergySmall { electric: false }),
            ("苏EA51234", "green", "苏EA51234", NewEnergySmall { electric: true }),
            ("粤B12345D", "yellow_green", "粤B12345D", NewEnergyLarge { electric: true }),
            ("川A12345F", "yellow_green", "川A12345F", NewEnergyLarge { electric: false }),
            ("粤B1234学", "yellow", "粤B1234学", DrivingSchool),
            ("鲁A2B45挂", "yellow", "鲁A2B45挂", Trailer),
            ("京A0001警", "white", "京A0001警", Police),
            ("沪A1234领", "black", "沪A1234领", Consulate),
            ("粤Z1234港", "black", "粤Z1234港", HongKong),
            ("粤ZA123澳", "black", "粤ZA123澳", Macao),
            ("使014578", "black", "使014578", Embassy),
            // Full-width, lower case, spaces and dots are normalised.
            ("粤ｂ １２３４５", "blue", "粤B12345", Ordinary),
            ("粤b・d12345", "green", "粤BD12345", NewEnergySmall { electric: true }),
            (" 沪a 12345 ", "blue", "沪A12345", Ordinary),
        ];
        for (input, color, text, kind) in cases {
            let plate = parse_plate(input, color).unwrap_or_else(|e| panic!("{input} {color}: {e}"));
            assert_eq!((plate.as_str(), plate.kind(), plate.color().as_str()), (*text, *kind, *color), "{input}");
        }
    }

    #[test]
    fn invalid_plates_say_what_is_wrong() {
        use PlateError::*;
        let cases: Vec<(&str, &str, PlateError)> = vec![
            ("粤B1234", "blue", Length(6)),
            ("粤B1234567", "blue", Length(9)),
            ("", "blue", Length(0)),
            ("港B12345", "blue", Province('港')),
            ("AB12345", "blue", Province('A')),
            ("粤112345", "blue", Authority('1')),
            ("粤I12345", "blue", Authority('I')),
            ("粤B1234I", "blue", SerialCharacter('I')),
            ("粤BO1234", "blue", SerialCharacter('O')),
            ("粤B12#45", "blue", SerialCharacter('#')),
            // New energy: the energy letter must be one of the ten, in its place.
            ("粤BX12345", "green", EnergyLetter),
            ("粤B123456", "green", EnergyLetter),
            ("粤BDA1B34", "green", SmallNewEnergySerial),
            ("粤B1234DD", "yellow_green", LargeNewEnergySerial),
            // Specials.
            ("沪A12B4领", "black", ConsulateSerial),
            ("粤B1234港", "black", CrossBorderPrefix),
            ("沪Z1234澳", "black", CrossBorderPrefix),
            ("粤B12O4学", "yellow", SpecialSerial("driving_school", '学')),
            ("粤B1234军", "blue", SerialCharacter('军')),
            ("使01457", "black", EmbassySerial),
            ("使01457A", "black", EmbassySerial),
            // Colours that do not fit the plate.
            ("粤BD12345", "blue", ColorMismatch { kind: "new_energy_small", allowed: "green".into(), given: "blue" }),
            ("粤B12345D", "green", ColorMismatch { kind: "new_energy_large", allowed: "yellow_green".into(), given: "green" }),
            ("粤B12345", "green", ColorMismatch { kind: "ordinary", allowed: "blue or yellow".into(), given: "green" }),
            ("京A0001警", "blue", ColorMismatch { kind: "police", allowed: "white".into(), given: "blue" }),
            ("粤Z1234港", "yellow", ColorMismatch { kind: "hong_kong", allowed: "black".into(), given: "yellow" }),
            ("粤B12345", "purple", UnknownColor("purple".into())),
        ];
        for (input, color, want) in cases {
            assert_eq!(parse_plate(input, color), Err(want), "{input} {color}");
        }
    }

    #[test]
    fn every_error_reads_as_a_sentence() {
        let e = parse_plate("粤BD12345", "blue").unwrap_err().to_string();
        assert_eq!(e, "a new_energy_small plate is green, not blue");
    }
}
