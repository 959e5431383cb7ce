//! The domain's parsed value types: country codes, serial numbers, calibres, SALW
//! categories, dates and years of manufacture.
//!
//! Every type here is built through one checking constructor (`parse` or `new`), so a value
//! that exists is valid and code that receives one never checks it again ("parse, don't
//! validate"). Each serialises as its canonical form and deserialises through that same
//! constructor, so a JSON document cannot carry a value that `parse` would refuse.
//!
//! There is no floating point in this module: the ledger's canonical encoding forbids
//! floats, so a bore is an integer number of hundredths of a millimetre.
//!
//! ```
//! use ledger::values::{Calibre, CountryCode, SerialNumber};
//!
//! let country = CountryCode::parse("BE")?;
//! assert_eq!(country.name(), "Belgium");
//!
//! let serial = SerialNumber::parse("fn-123 456")?;
//! assert_eq!(serial.normalized(), "FN123456");
//!
//! let calibre = Calibre::parse(".50 BMG")?;
//! assert_eq!(calibre.bore_mm().map(|bore| bore.hundredths()), Some(1270));
//! assert_eq!(calibre.is_ml1(), Some(true));
//! # Ok::<(), ledger::values::ValueError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::de;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why a value was refused.
///
/// `code()` is stable and meant for machines (API problem types, logs, tests); the message
/// is for people and may be reworded. Neither names the field the value came from, because
/// the same type is read from many fields: the caller adds that context. The refused input
/// is not echoed either: the caller has it, and copying unbounded untrusted text into
/// errors that end up in logs and API responses is a hazard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// Not one of the officially assigned ISO 3166-1 alpha-2 codes.
    #[error("not an officially assigned ISO 3166-1 alpha-2 country code: {reason}")]
    UnknownCountryCode {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// A serial number that breaks one of [`SerialNumber::parse`]'s rules.
    #[error("invalid serial number: {reason}")]
    InvalidSerialNumber {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// A calibre that breaks one of [`Calibre::parse`]'s rules.
    #[error("invalid calibre: {reason}")]
    InvalidCalibre {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// A bore outside [`BoreMm::from_hundredths`]'s range.
    #[error("invalid bore: {reason}")]
    InvalidBore {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// Not one of the [`SalwCategory`] names.
    #[error("unknown SALW category")]
    UnknownSalwCategory,
    /// Not a `YYYY-MM-DD` calendar date in years 1000..=9999.
    #[error("invalid date: {reason}")]
    InvalidDate {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// A year outside 1000..=9999 or not written as four digits.
    #[error("invalid year: {reason}")]
    InvalidYear {
        /// Which rule was broken.
        reason: &'static str,
    },
}

impl ValueError {
    /// The stable snake_case code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownCountryCode { .. } => "unknown_country_code",
            Self::InvalidSerialNumber { .. } => "invalid_serial_number",
            Self::InvalidCalibre { .. } => "invalid_calibre",
            Self::InvalidBore { .. } => "invalid_bore",
            Self::UnknownSalwCategory => "unknown_salw_category",
            Self::InvalidDate { .. } => "invalid_date",
            Self::InvalidYear { .. } => "invalid_year",
        }
    }
}

/// Implements `Display`-based `Serialize` and a checking `Deserialize` for a type with
/// `parse(&str) -> Result<Self, E: Display>`, so that no deserialized value escapes the
/// check (used here and by the event catalogue).
///
/// Written by hand rather than with `#[serde(try_from = "String")]` so that a borrowed
/// string from the deserializer is checked in place: legacy bulk import reads hundreds of
/// millions of these, and an allocation per refused or copied value adds up.
macro_rules! text_serde {
    ($ty:ident, $expecting:literal) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                struct TextVisitor;

                impl ::serde::de::Visitor<'_> for TextVisitor {
                    type Value = $ty;

                    fn expecting(
                        &self,
                        formatter: &mut ::std::fmt::Formatter<'_>,
                    ) -> ::std::fmt::Result {
                        formatter.write_str($expecting)
                    }

                    fn visit_str<E: ::serde::de::Error>(self, value: &str) -> Result<$ty, E> {
                        $ty::parse(value).map_err(E::custom)
                    }
                }

                deserializer.deserialize_str(TextVisitor)
            }
        }
    };
}
pub(crate) use text_serde;

/// `text_serde!` plus `FromStr`, for the value types of this module.
macro_rules! text_value_serde {
    ($ty:ident, $expecting:literal) => {
        text_serde!($ty, $expecting);

        impl FromStr for $ty {
            type Err = ValueError;

            fn from_str(input: &str) -> Result<Self, ValueError> {
                Self::parse(input)
            }
        }
    };
}

// ---------------------------------------------------------------------------------------
// Country codes
// ---------------------------------------------------------------------------------------

/// An officially assigned ISO 3166-1 alpha-2 country code, such as `BE` or `NG`.
///
/// Only the upper-case spelling is accepted: a code has one spelling, so that two records
/// of the same State compare equal byte for byte and hash alike.
///
/// User-assigned codes (`XK`, which the EU and others use for Kosovo; `XX`...) and
/// exceptionally reserved ones (`UK`, `EU`) are refused, because the table follows ISO
/// 3166-1's officially assigned list exactly; a jurisdiction that needs another code is a
/// decision for the registry of authorities, not a spelling of a country.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode {
    // INVARIANT: `code` and `name` are one row of `COUNTRIES`. Codes are unique, so the
    // derived comparisons, which look at `code` first, order and compare by code alone.
    code: &'static str,
    name: &'static str,
}

impl CountryCode {
    /// Parses an upper-case ISO 3166-1 alpha-2 code.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let bytes = input.as_bytes();
        if bytes.len() != 2 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(ValueError::UnknownCountryCode {
                reason: "not two upper-case ASCII letters A-Z",
            });
        }
        COUNTRIES
            .binary_search_by(|(code, _)| (*code).cmp(input))
            .ok()
            .and_then(|index| COUNTRIES.get(index))
            .map(|&(code, name)| Self { code, name })
            .ok_or(ValueError::UnknownCountryCode {
                reason: "not officially assigned",
            })
    }

    /// The two-letter code.
    pub fn as_str(&self) -> &'static str {
        self.code
    }

    /// The English short name as ISO 3166-1 gives it, e.g. "Iran, Islamic Republic of".
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Every officially assigned code, in code order.
    pub fn all() -> impl ExactSizeIterator<Item = CountryCode> {
        COUNTRIES.iter().map(|&(code, name)| Self { code, name })
    }
}

impl fmt::Debug for CountryCode {
    // The name is implied by the code; printing it would only make logs longer.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_tuple("CountryCode")
            .field(&self.code)
            .finish()
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.code)
    }
}

text_value_serde!(CountryCode, "an ISO 3166-1 alpha-2 country code");

/// The officially assigned ISO 3166-1 alpha-2 codes and their English short names, sorted
/// by code so that `parse` can binary-search it (a test checks the order).
///
/// Generated from Debian's `iso-codes` package, version 4.15.0 (Debian 4.15.0-1), file
/// /usr/share/iso-codes/json/iso_3166-1.json: 249 entries, fields `alpha_2` and `name`.
/// To regenerate, print `(alpha_2, name)` of every entry of its "3166-1" array, sorted by
/// `alpha_2`, as Rust tuples; the test `country_table_matches_iso_codes_json` compares this
/// table with that file whenever the file is present.
const COUNTRIES: [(&str, &str); 249] = [
    ("AD", "Andorra"),
    ("AE", "United Arab Emirates"),
    ("AF", "Afghanistan"),
    ("AG", "Antigua and Barbuda"),
    ("AI", "Anguilla"),
    ("AL", "Albania"),
    ("AM", "Armenia"),
    ("AO", "Angola"),
    ("AQ", "Antarctica"),
    ("AR", "Argentina"),
    ("AS", "American Samoa"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("AW", "Aruba"),
    ("AX", "Åland Islands"),
    ("AZ", "Azerbaijan"),
    ("BA", "Bosnia and Herzegovina"),
    ("BB", "Barbados"),
    ("BD", "Bangladesh"),
    ("BE", "Belgium"),
    ("BF", "Burkina Faso"),
    ("BG", "Bulgaria"),
    ("BH", "Bahrain"),
    ("BI", "Burundi"),
    ("BJ", "Benin"),
    ("BL", "Saint Barthélemy"),
    ("BM", "Bermuda"),
    ("BN", "Brunei Darussalam"),
    ("BO", "Bolivia, Plurinational State of"),
    ("BQ", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "Brazil"),
    ("BS", "Bahamas"),
    ("BT", "Bhutan"),
    ("BV", "Bouvet Island"),
    ("BW", "Botswana"),
    ("BY", "Belarus"),
    ("BZ", "Belize"),
    ("CA", "Canada"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CD", "Congo, The Democratic Republic of the"),
    ("CF", "Central African Republic"),
    ("CG", "Congo"),
    ("CH", "Switzerland"),
    ("CI", "Côte d'Ivoire"),
    ("CK", "Cook Islands"),
    ("CL", "Chile"),
    ("CM", "Cameroon"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("CU", "Cuba"),
    ("CV", "Cabo Verde"),
    ("CW", "Curaçao"),
    ("CX", "Christmas Island"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DJ", "Djibouti"),
    ("DK", "Denmark"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("DZ", "Algeria"),
    ("EC", "Ecuador"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("EH", "Western Sahara"),
    ("ER", "Eritrea"),
    ("ES", "Spain"),
    ("ET", "Ethiopia"),
    ("FI", "Finland"),
    ("FJ", "Fiji"),
    ("FK", "Falkland Islands (Malvinas)"),
    ("FM", "Micronesia, Federated States of"),
    ("FO", "Faroe Islands"),
    ("FR", "France"),
    ("GA", "Gabon"),
    ("GB", "United Kingdom"),
    ("GD", "Grenada"),
    ("GE", "Georgia"),
    ("GF", "French Guiana"),
    ("GG", "Guernsey"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GL", "Greenland"),
    ("GM", "Gambia"),
    ("GN", "Guinea"),
    ("GP", "Guadeloupe"),
    ("GQ", "Equatorial Guinea"),
    ("GR", "Greece"),
    ("GS", "South Georgia and the South Sandwich Islands"),
    ("GT", "Guatemala"),
    ("GU", "Guam"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HK", "Hong Kong"),
    ("HM", "Heard Island and McDonald Islands"),
    ("HN", "Honduras"),
    ("HR", "Croatia"),
    ("HT", "Haiti"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IM", "Isle of Man"),
    ("IN", "India"),
    ("IO", "British Indian Ocean Territory"),
    ("IQ", "Iraq"),
    ("IR", "Iran, Islamic Republic of"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JE", "Jersey"),
    ("JM", "Jamaica"),
    ("JO", "Jordan"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KG", "Kyrgyzstan"),
    ("KH", "Cambodia"),
    ("KI", "Kiribati"),
    ("KM", "Comoros"),
    ("KN", "Saint Kitts and Nevis"),
    ("KP", "Korea, Democratic People's Republic of"),
    ("KR", "Korea, Republic of"),
    ("KW", "Kuwait"),
    ("KY", "Cayman Islands"),
    ("KZ", "Kazakhstan"),
    ("LA", "Lao People's Democratic Republic"),
    ("LB", "Lebanon"),
    ("LC", "Saint Lucia"),
    ("LI", "Liechtenstein"),
    ("LK", "Sri Lanka"),
    ("LR", "Liberia"),
    ("LS", "Lesotho"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("LY", "Libya"),
    ("MA", "Morocco"),
    ("MC", "Monaco"),
    ("MD", "Moldova, Republic of"),
    ("ME", "Montenegro"),
    ("MF", "Saint Martin (French part)"),
    ("MG", "Madagascar"),
    ("MH", "Marshall Islands"),
    ("MK", "North Macedonia"),
    ("ML", "Mali"),
    ("MM", "Myanmar"),
    ("MN", "Mongolia"),
    ("MO", "Macao"),
    ("MP", "Northern Mariana Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MS", "Montserrat"),
    ("MT", "Malta"),
    ("MU", "Mauritius"),
    ("MV", "Maldives"),
    ("MW", "Malawi"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("MZ", "Mozambique"),
    ("NA", "Namibia"),
    ("NC", "New Caledonia"),
    ("NE", "Niger"),
    ("NF", "Norfolk Island"),
    ("NG", "Nigeria"),
    ("NI", "Nicaragua"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NP", "Nepal"),
    ("NR", "Nauru"),
    ("NU", "Niue"),
    ("NZ", "New Zealand"),
    ("OM", "Oman"),
    ("PA", "Panama"),
    ("PE", "Peru"),
    ("PF", "French Polynesia"),
    ("PG", "Papua New Guinea"),
    ("PH", "Philippines"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PM", "Saint Pierre and Miquelon"),
    ("PN", "Pitcairn"),
    ("PR", "Puerto Rico"),
    ("PS", "Palestine, State of"),
    ("PT", "Portugal"),
    ("PW", "Palau"),
    ("PY", "Paraguay"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("RU", "Russian Federation"),
    ("RW", "Rwanda"),
    ("SA", "Saudi Arabia"),
    ("SB", "Solomon Islands"),
    ("SC", "Seychelles"),
    ("SD", "Sudan"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "Slovenia"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SK", "Slovakia"),
    ("SL", "Sierra Leone"),
    ("SM", "San Marino"),
    ("SN", "Senegal"),
    ("SO", "Somalia"),
    ("SR", "Suriname"),
    ("SS", "South Sudan"),
    ("ST", "Sao Tome and Principe"),
    ("SV", "El Salvador"),
    ("SX", "Sint Maarten (Dutch part)"),
    ("SY", "Syrian Arab Republic"),
    ("SZ", "Eswatini"),
    ("TC", "Turks and Caicos Islands"),
    ("TD", "Chad"),
    ("TF", "French Southern Territories"),
    ("TG", "Togo"),
    ("TH", "Thailand"),
    ("TJ", "Tajikistan"),
    ("TK", "Tokelau"),
    ("TL", "Timor-Leste"),
    ("TM", "Turkmenistan"),
    ("TN", "Tunisia"),
    ("TO", "Tonga"),
    ("TR", "Türkiye"),
    ("TT", "Trinidad and Tobago"),
    ("TV", "Tuvalu"),
    ("TW", "Taiwan, Province of China"),
    ("TZ", "Tanzania, United Republic of"),
    ("UA", "Ukraine"),
    ("UG", "Uganda"),
    ("UM", "United States Minor Outlying Islands"),
    ("US", "United States"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VA", "Holy See (Vatican City State)"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("VE", "Venezuela, Bolivarian Republic of"),
    ("VG", "Virgin Islands, British"),
    ("VI", "Virgin Islands, U.S."),
    ("VN", "Viet Nam"),
    ("VU", "Vanuatu"),
    ("WF", "Wallis and Futuna"),
    ("WS", "Samoa"),
    ("YE", "Yemen"),
    ("YT", "Mayotte"),
    ("ZA", "South Africa"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];

// ---------------------------------------------------------------------------------------
// Serial numbers
// ---------------------------------------------------------------------------------------

/// The most characters (Unicode scalar values) a serial number may have. Real markings are
/// far shorter; the limit bounds what one record can make the store and the indexes hold.
pub const SERIAL_NUMBER_CHARS_MAX: usize = 64;

/// A serial number exactly as it was read off the weapon, e.g. `FN 123-456`.
///
/// The text is kept as read, because the reading is evidence: an auditor must see what the
/// marking said, spaces, dashes and all. Searching uses [`SerialNumber::normalized`].
///
/// Serial numbers are not unique, across manufacturers or even within one, so this type
/// says nothing about identity: the ledger warns on a duplicate (manufacturer, serial) and
/// never rejects on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SerialNumber(String);

impl SerialNumber {
    /// Parses a serial number as read.
    ///
    /// Rules, each refusing what cannot be a faithful reading of a marking:
    /// - 1 to [`SERIAL_NUMBER_CHARS_MAX`] characters;
    /// - no leading or trailing whitespace: it is never part of a marking, and accepting it
    ///   would give one marking several spellings;
    /// - no control characters or line breaks, and no invisible format characters
    ///   (zero-width spaces and joiners, soft hyphens, byte-order marks...): what is stored
    ///   must be what a reader sees;
    /// - at least one letter or digit: a marking of punctuation alone cannot be searched.
    ///
    /// Everything else printable is kept, including characters such as `?` that a reader may
    /// use for an illegible digit of an obliterated mark.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let refuse = |reason| Err(ValueError::InvalidSerialNumber { reason });
        if input.is_empty() {
            return refuse("empty");
        }
        // `nth` stops counting after the limit, so a huge input costs no more than a long one.
        if input.chars().nth(SERIAL_NUMBER_CHARS_MAX).is_some() {
            return refuse("longer than 64 characters");
        }
        if input.starts_with(char::is_whitespace) || input.ends_with(char::is_whitespace) {
            return refuse("leading or trailing whitespace");
        }
        // Line and paragraph separators are not control characters to Unicode, but they
        // break a one-line marking just the same.
        if input
            .chars()
            .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
        {
            return refuse("control character or line break");
        }
        if input.chars().any(is_invisible_format) {
            return refuse("invisible format character");
        }
        if !input.chars().any(char::is_alphanumeric) {
            return refuse("no letter or digit");
        }
        Ok(Self(input.to_owned()))
    }

    /// The serial number as read.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The search form of this serial number: see [`normalize_query`].
    pub fn normalized(&self) -> String {
        normalize_query(&self.0)
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl From<SerialNumber> for String {
    fn from(serial: SerialNumber) -> Self {
        serial.0
    }
}

text_value_serde!(SerialNumber, "a serial number as read");

/// Turns a serial number, or a search string for one, into the search form, so that a
/// search finds a marking however it was transcribed.
///
/// Applied character by character, in this order:
/// 1. Full-width forms (U+FF01..U+FF5E, typed by East Asian input methods) become their
///    ASCII counterparts: they are the same characters to a reader.
/// 2. Letters become upper case, with Unicode's single-character upper-case mapping
///    (a letter whose upper case is several characters, such as `ß`, is kept): markings are
///    stamped in one case and transcribed in either, and a one-to-one mapping keeps the
///    search form predictable.
/// 3. Whitespace, dashes (`-` and the Unicode dashes and minus sign), dots, slashes and
///    underscores are removed: they separate groups of a marking, and transcribers and
///    manufacturers' own records keep, drop or swap them freely.
/// 4. `O` becomes `0` and `I` becomes `1`: the classic misreadings of stamped and worn
///    markings, and of handwritten records, that tracing practice names.
///
/// No other look-alikes are folded (`L`/`1`, `S`/`5`, `B`/`8`, or Cyrillic and Greek letters
/// that look Latin): each would merge markings that are really different, and the further a
/// search folds, the more false matches a trace officer must rule out by hand.
pub fn normalize_query(query: &str) -> String {
    let mut normalized = String::with_capacity(query.len());
    for original in query.chars() {
        let character = simple_uppercase(fold_full_width(original));
        if is_search_separator(character) {
            continue;
        }
        normalized.push(match character {
            'O' => '0',
            'I' => '1',
            other => other,
        });
    }
    normalized
}

/// Maps a full-width form (U+FF01..=U+FF5E) to the ASCII character it stands for.
fn fold_full_width(character: char) -> char {
    const FULL_WIDTH_OFFSET: u32 = 0xFEE0;
    match character {
        '\u{FF01}'..='\u{FF5E}' => {
            char::from_u32(u32::from(character) - FULL_WIDTH_OFFSET).unwrap_or(character)
        }
        other => other,
    }
}

/// The upper case of a character when Unicode maps it to exactly one character; otherwise
/// the character itself.
fn simple_uppercase(character: char) -> char {
    if character.is_ascii() {
        return character.to_ascii_uppercase();
    }
    let mut upper = character.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(single), None) => single,
        _ => character,
    }
}

/// Characters that separate groups of a marking and carry no identity.
fn is_search_separator(character: char) -> bool {
    character.is_whitespace()
        || matches!(
            character,
            // Dashes: Unicode's dash punctuation (general category Pd) plus the minus sign,
            // which word processors and OCR put where a hyphen was stamped.
            '-' | '\u{058A}' | '\u{05BE}' | '\u{1400}' | '\u{1806}' | '\u{2010}'
                ..='\u{2015}'
                | '\u{2212}' | '\u{2E17}' | '\u{2E1A}' | '\u{2E3A}' | '\u{2E3B}' | '\u{2E40}'
                | '\u{2E5D}' | '\u{301C}' | '\u{3030}' | '\u{30A0}' | '\u{FE31}' | '\u{FE32}'
                | '\u{FE58}' | '\u{FE63}' | '\u{10EAD}'
                // Dots: full stop, middle dot (a common engraved separator), one-dot leader.
                | '.' | '\u{00B7}' | '\u{2024}'
                // Slashes: solidus, reverse solidus, fraction slash, division slash.
                | '/' | '\\' | '\u{2044}' | '\u{2215}'
                | '_'
        )
}

/// Invisible characters that change what is stored without changing what a reader sees.
fn is_invisible_format(character: char) -> bool {
    matches!(
        character,
        // Soft hyphen, combining grapheme joiner, Arabic letter mark, Mongolian vowel
        // separator, zero-width space/joiners and directional marks, word joiner and
        // invisible operators, directional embeddings and isolates, byte-order mark.
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
    )
}

// ---------------------------------------------------------------------------------------
// Calibres and bores
// ---------------------------------------------------------------------------------------

/// The most characters (Unicode scalar values) a calibre may have, after trimming.
pub const CALIBRE_CHARS_MAX: usize = 64;

/// A bore diameter in hundredths of a millimetre (`1270` is 12.70 mm).
///
/// An integer because the ledger forbids floats; hundredths because that is the precision
/// to which calibres are written (7.62, 5.56, 18.53).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BoreMm(u32);

impl BoreMm {
    /// The largest bore, 999.99 mm: well above any light weapon, and small enough that no
    /// arithmetic on bores can overflow.
    pub const HUNDREDTHS_MAX: u32 = 99_999;

    /// Wassenaar Munitions List ML1: the largest rifled bore it covers, 12.7 mm (calibre
    /// 0.50 inch), inclusive. Larger rifled bores are ML2.
    pub const ML1_RIFLED_MAX: BoreMm = BoreMm(1270);

    /// Wassenaar Munitions List ML1 covers smooth-bore weapons below 20 mm (exclusive);
    /// smooth bores of 20 mm or more are ML2.
    pub const ML1_SMOOTH_BORE_BELOW: BoreMm = BoreMm(2000);

    /// A bore of `hundredths` hundredths of a millimetre, 1..=[`Self::HUNDREDTHS_MAX`].
    pub fn from_hundredths(hundredths: u32) -> Result<Self, ValueError> {
        match hundredths {
            0 => Err(ValueError::InvalidBore { reason: "zero" }),
            1..=Self::HUNDREDTHS_MAX => Ok(Self(hundredths)),
            _ => Err(ValueError::InvalidBore {
                reason: "larger than 999.99 mm",
            }),
        }
    }

    /// The bore in hundredths of a millimetre.
    pub fn hundredths(self) -> u32 {
        self.0
    }
}

impl fmt::Display for BoreMm {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}.{:02} mm", self.0 / 100, self.0 % 100)
    }
}

// A bore travels as its integer number of hundredths: it is a measurement, not a text.
impl Serialize for BoreMm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for BoreMm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hundredths = u32::deserialize(deserializer)?;
        Self::from_hundredths(hundredths).map_err(de::Error::custom)
    }
}

/// A calibre as written in a record, e.g. `7.62x51mm`, `.45 ACP`, `12 gauge`.
///
/// Calibres are written in too many ways to enumerate (metric and inch designations,
/// gauges, makers' names, weapon names with the calibre in brackets), so any text is
/// accepted and kept as given, trimmed; the bore is derived from the forms that state it
/// (see [`Calibre::bore_mm`]) and is `None` for the others.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Calibre {
    text: String,
    // INVARIANT: `bore` and `smooth_bore` are what `derive_bore(&text)` returns, so the
    // derived comparisons agree with comparing `text` alone.
    bore: Option<BoreMm>,
    smooth_bore: bool,
}

impl Calibre {
    /// Parses a calibre: surrounding whitespace is trimmed, and the rest must be 1 to
    /// [`CALIBRE_CHARS_MAX`] characters with no control characters.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(ValueError::InvalidCalibre { reason: "empty" });
        }
        if text.chars().nth(CALIBRE_CHARS_MAX).is_some() {
            return Err(ValueError::InvalidCalibre {
                reason: "longer than 64 characters",
            });
        }
        if text.chars().any(char::is_control) {
            return Err(ValueError::InvalidCalibre {
                reason: "control character",
            });
        }
        let (bore, smooth_bore) = match derive_bore(text) {
            Some((bore, smooth_bore)) => (Some(bore), smooth_bore),
            None => (None, false),
        };
        Ok(Self {
            text: text.to_owned(),
            bore,
            smooth_bore,
        })
    }

    /// The calibre as written, trimmed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The nominal bore, when the text states it in one of these forms (case-insensitive,
    /// spaces allowed between the parts, `,` accepted as the decimal mark):
    /// - metric `<mm>x<case length>[mm]`, with `x`, `X` or `×`: `7.62x51mm`, `7.62×39mm`,
    ///   `7.62x54R`; the first number is the bore;
    /// - metric `<mm>mm`: `9mm Parabellum`, `81mm`;
    /// - inch `.<digits>` (1 to 3 digits): `.45 ACP` is 11.43 mm, `.50 BMG` 12.70 mm,
    ///   rounded half up to the hundredth;
    /// - gauge `<n> gauge` (also `<n>-gauge`, `<n>ga`, `<n> bore`) for 10, 12, 16, 20 and
    ///   28: the diameter of a lead ball weighing 1/n pound, as the usual tables give it
    ///   (12 gauge is 18.53 mm).
    ///
    /// A form may start the text or follow a space, `(` or `[`; the first that matches wins,
    /// so `RPG-7 (40mm)` is 40 mm. The bore is the nominal one of the designation, not a
    /// measurement: `.38 Special` reads as 9.65 mm although its bullet is 9.07 mm.
    pub fn bore_mm(&self) -> Option<BoreMm> {
        self.bore
    }

    /// Whether the bore comes from a gauge, which only smooth bores are given in. `false`
    /// means "not known to be smooth", not "rifled".
    pub fn is_smooth_bore(&self) -> bool {
        self.smooth_bore
    }

    /// Whether the Wassenaar Munitions List puts a weapon of this calibre in ML1 (`Some(true)`)
    /// or ML2 (`Some(false)`); `None` when the bore is unknown, so that a policy must decide
    /// what an unknown calibre means rather than inherit a guess.
    ///
    /// ML1 covers bores up to and including 12.7 mm, and smooth bores below 20 mm (so shotguns
    /// of every common gauge are ML1); ML2 covers the rest. Only a gauge tells that a bore is
    /// smooth, so other forms get the 12.7 mm rule; the two rules differ only for smooth
    /// bores between 12.7 and 20 mm, which in practice are written as gauges.
    pub fn is_ml1(&self) -> Option<bool> {
        self.bore.map(|bore| {
            if self.smooth_bore {
                bore < BoreMm::ML1_SMOOTH_BORE_BELOW
            } else {
                bore <= BoreMm::ML1_RIFLED_MAX
            }
        })
    }
}

impl fmt::Display for Calibre {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

impl From<Calibre> for String {
    fn from(calibre: Calibre) -> Self {
        calibre.text
    }
}

text_value_serde!(Calibre, "a calibre");

/// Finds the first bore stated in `text`: `(bore, smooth_bore)`.
fn derive_bore(text: &str) -> Option<(BoreMm, bool)> {
    let starts = text
        .char_indices()
        .filter(|&(_, character)| matches!(character, ' ' | '(' | '['))
        .map(|(index, character)| index + character.len_utf8());
    std::iter::once(0)
        .chain(starts)
        .filter_map(|start| text.get(start..))
        .find_map(bore_at_start)
}

/// The bore stated by a form at the start of `text`, if any.
fn bore_at_start(text: &str) -> Option<(BoreMm, bool)> {
    let (hundredths, smooth_bore) = if let Some(digits) = text.strip_prefix('.') {
        (inch_bore(digits)?, false)
    } else if let Some(hundredths) = metric_bore(text) {
        (hundredths, false)
    } else {
        (gauge_bore(text)?, true)
    };
    BoreMm::from_hundredths(hundredths)
        .ok()
        .map(|bore| (bore, smooth_bore))
}

/// `<mm>x<case length>[mm]` or `<mm>mm`, in hundredths of a millimetre.
fn metric_bore(text: &str) -> Option<u32> {
    let (bore, rest) = take_decimal_hundredths(text)?;
    let rest = rest.trim_start_matches(' ');
    if let Some(case_length) = rest.strip_prefix(['x', 'X', '×']) {
        // "AxB" is the metric cartridge convention (bore x case length), so "mm" may be
        // left out, as in 7.62x54R; the case length must still be a number.
        take_decimal_hundredths(case_length.trim_start_matches(' '))?;
        return Some(bore);
    }
    rest.get(..2)
        .filter(|unit| unit.eq_ignore_ascii_case("mm"))
        .map(|_| bore)
}

/// `<digits>` after the leading dot of an inch designation: hundredths of a millimetre.
fn inch_bore(text: &str) -> Option<u32> {
    const HUNDREDTHS_MM_PER_INCH: u32 = 2540;
    let (digits, _) = split_digits(text);
    let value: u32 = digits.parse().ok()?;
    // Scale to thousandths of an inch, convert, then round half up to the hundredth of a mm.
    // Designations have at most three digits (.308, .410); more is not an inch calibre.
    let thousandths_of_inch = match digits.len() {
        1 => value * 100,
        2 => value * 10,
        3 => value,
        _ => return None,
    };
    Some((thousandths_of_inch * HUNDREDTHS_MM_PER_INCH + 500) / 1000)
}

/// `<n> gauge`, `<n>-gauge`, `<n>ga` or `<n> bore` for the common gauges.
fn gauge_bore(text: &str) -> Option<u32> {
    // Diameter of a lead ball (11.35 g/cm³) weighing 1/n pound, in hundredths of a mm, as
    // published gauge tables round it.
    const GAUGES: [(&str, u32); 5] = [
        ("10", 1969),
        ("12", 1853),
        ("16", 1683),
        ("20", 1563),
        ("28", 1397),
    ];
    let (digits, rest) = split_digits(text);
    let rest = rest.strip_prefix([' ', '-']).unwrap_or(rest);
    let word_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
    let word = rest.get(..word_len)?;
    let is_gauge_word = ["gauge", "ga", "bore"]
        .iter()
        .any(|gauge_word| word.eq_ignore_ascii_case(gauge_word));
    if !is_gauge_word {
        return None;
    }
    GAUGES
        .iter()
        .find(|(gauge, _)| *gauge == digits)
        .map(|&(_, hundredths)| hundredths)
}

/// Reads `<digits>[(.|,)<digits>]` (1 to 3 integer digits, up to 3 decimals) as hundredths,
/// rounding a third decimal half up; returns the rest of the text too.
fn take_decimal_hundredths(text: &str) -> Option<(u32, &str)> {
    let (integer, rest) = split_digits(text);
    if integer.is_empty() || integer.len() > 3 {
        return None;
    }
    let whole: u32 = integer.parse().ok()?;
    let Some(after_mark) = rest.strip_prefix(['.', ',']) else {
        return Some((whole * 100, rest));
    };
    let (decimals, rest) = split_digits(after_mark);
    let fraction: u32 = decimals.parse().ok()?;
    let hundredths = match decimals.len() {
        1 => fraction * 10,
        2 => fraction,
        3 => (fraction + 5) / 10,
        _ => return None,
    };
    Some((whole * 100 + hundredths, rest))
}

/// Splits `text` after its leading ASCII digits.
fn split_digits(text: &str) -> (&str, &str) {
    let len = text.bytes().take_while(u8::is_ascii_digit).count();
    // ASCII digits are one byte each, so `len` is a character boundary.
    text.split_at_checked(len).unwrap_or((text, ""))
}

// ---------------------------------------------------------------------------------------
// SALW categories
// ---------------------------------------------------------------------------------------

/// The category of a small arm or light weapon.
///
/// Two lists are modelled because States report under both (DOMAIN.md, "SALW
/// categories"):
/// - the UN Register of Conventional Arms' SALW subcategories, which the Arms Trade
///   Treaty's category VIII reporting reuses: small arms are revolvers and self-loading
///   pistols, rifles and carbines, sub-machine guns, assault rifles, light machine guns and
///   others; light weapons are heavy machine guns, grenade launchers (hand-held
///   under-barrel, and mounted), portable anti-aircraft guns, portable anti-tank guns,
///   recoilless rifles, portable anti-tank missile launchers and rocket systems, mortars of
///   calibres below 75 mm, and others;
/// - the International Tracing Instrument (ITI, A/60/88 annex, para. 4) and the 1997 UN
///   Panel of Governmental Experts on Small Arms (A/52/298), which draw the mortar line at
///   100 mm and include portable launchers of anti-aircraft missile systems (MANPADS; in the
///   UN Register those are category VII, missiles and missile launchers, not SALW).
///
/// The categories the lists share appear once. Grenade launchers are split in two because
/// an under-barrel launcher is fitted to a rifle and a mounted one is crew-served, which
/// matters to embargo and licensing rules. The serialised names are the snake_case ones
/// of [`SalwCategory::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SalwCategory {
    /// Small arm: revolvers and self-loading pistols.
    RevolversAndSelfLoadingPistols,
    /// Small arm: rifles and carbines.
    RiflesAndCarbines,
    /// Small arm: sub-machine guns.
    SubMachineGuns,
    /// Small arm: assault rifles.
    AssaultRifles,
    /// Small arm: light machine guns.
    LightMachineGuns,
    /// Small arm: others (UN Register "other small arms"; the ITI's list is not exhaustive).
    OtherSmallArms,
    /// Light weapon: heavy machine guns.
    HeavyMachineGuns,
    /// Light weapon: hand-held under-barrel grenade launchers.
    UnderBarrelGrenadeLaunchers,
    /// Light weapon: mounted grenade launchers.
    MountedGrenadeLaunchers,
    /// Light weapon: portable anti-aircraft guns.
    PortableAntiAircraftGuns,
    /// Light weapon: portable anti-tank guns.
    PortableAntiTankGuns,
    /// Light weapon: recoilless rifles.
    RecoillessRifles,
    /// Light weapon: portable anti-tank missile launchers and rocket systems.
    PortableAntiTankMissileLaunchersAndRocketSystems,
    /// Light weapon: mortars of calibres below 75 mm (UN Register / ATT).
    MortarsUnder75mm,
    /// Light weapon: others (UN Register "other light weapons"; the ITI's list is not
    /// exhaustive).
    OtherLightWeapons,
    /// Light weapon: mortars of calibres below 100 mm (ITI, 1997 UN panel).
    MortarsUnder100mm,
    /// Light weapon: portable launchers of anti-aircraft missile systems (ITI, 1997 UN
    /// panel).
    PortableAntiAircraftMissileLaunchers,
}

/// Which reporting lists a [`SalwCategory`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReportingSchemes {
    /// Both the UN Register / ATT category VIII and the ITI / 1997 UN panel lists.
    UnRegisterAndIti,
    /// Only the UN Register / ATT category VIII list.
    UnRegisterOnly,
    /// Only the ITI / 1997 UN panel list.
    ItiOnly,
}

impl ReportingSchemes {
    /// Whether the category is reported to the UN Register and under ATT category VIII.
    pub fn in_un_register(self) -> bool {
        matches!(self, Self::UnRegisterAndIti | Self::UnRegisterOnly)
    }

    /// Whether the category is named by the ITI and the 1997 UN panel.
    pub fn in_iti(self) -> bool {
        matches!(self, Self::UnRegisterAndIti | Self::ItiOnly)
    }
}

impl SalwCategory {
    /// Every category, small arms first, in declaration order.
    pub const ALL: [SalwCategory; 17] = [
        Self::RevolversAndSelfLoadingPistols,
        Self::RiflesAndCarbines,
        Self::SubMachineGuns,
        Self::AssaultRifles,
        Self::LightMachineGuns,
        Self::OtherSmallArms,
        Self::HeavyMachineGuns,
        Self::UnderBarrelGrenadeLaunchers,
        Self::MountedGrenadeLaunchers,
        Self::PortableAntiAircraftGuns,
        Self::PortableAntiTankGuns,
        Self::RecoillessRifles,
        Self::PortableAntiTankMissileLaunchersAndRocketSystems,
        Self::MortarsUnder75mm,
        Self::OtherLightWeapons,
        Self::MortarsUnder100mm,
        Self::PortableAntiAircraftMissileLaunchers,
    ];

    /// Parses the snake_case name, e.g. `assault_rifles`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|category| category.as_str() == input)
            .ok_or(ValueError::UnknownSalwCategory)
    }

    /// The snake_case name: the serialised form, stable once written to the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RevolversAndSelfLoadingPistols => "revolvers_and_self_loading_pistols",
            Self::RiflesAndCarbines => "rifles_and_carbines",
            Self::SubMachineGuns => "sub_machine_guns",
            Self::AssaultRifles => "assault_rifles",
            Self::LightMachineGuns => "light_machine_guns",
            Self::OtherSmallArms => "other_small_arms",
            Self::HeavyMachineGuns => "heavy_machine_guns",
            Self::UnderBarrelGrenadeLaunchers => "under_barrel_grenade_launchers",
            Self::MountedGrenadeLaunchers => "mounted_grenade_launchers",
            Self::PortableAntiAircraftGuns => "portable_anti_aircraft_guns",
            Self::PortableAntiTankGuns => "portable_anti_tank_guns",
            Self::RecoillessRifles => "recoilless_rifles",
            Self::PortableAntiTankMissileLaunchersAndRocketSystems => {
                "portable_anti_tank_missile_launchers_and_rocket_systems"
            }
            Self::MortarsUnder75mm => "mortars_under_75mm",
            Self::OtherLightWeapons => "other_light_weapons",
            Self::MortarsUnder100mm => "mortars_under_100mm",
            Self::PortableAntiAircraftMissileLaunchers => {
                "portable_anti_aircraft_missile_launchers"
            }
        }
    }

    /// Whether this is a small arm: a weapon made for use by one person.
    pub fn is_small_arm(self) -> bool {
        matches!(
            self,
            Self::RevolversAndSelfLoadingPistols
                | Self::RiflesAndCarbines
                | Self::SubMachineGuns
                | Self::AssaultRifles
                | Self::LightMachineGuns
                | Self::OtherSmallArms
        )
    }

    /// Whether this is a light weapon: one made for use by a crew of two or three.
    pub fn is_light_weapon(self) -> bool {
        !self.is_small_arm()
    }

    /// Which reporting lists name this category.
    pub fn register_category(self) -> ReportingSchemes {
        match self {
            // The Register's 75 mm mortar line is its own; the ITI's is 100 mm.
            Self::MortarsUnder75mm => ReportingSchemes::UnRegisterOnly,
            Self::MortarsUnder100mm | Self::PortableAntiAircraftMissileLaunchers => {
                ReportingSchemes::ItiOnly
            }
            Self::RevolversAndSelfLoadingPistols
            | Self::RiflesAndCarbines
            | Self::SubMachineGuns
            | Self::AssaultRifles
            | Self::LightMachineGuns
            | Self::OtherSmallArms
            | Self::HeavyMachineGuns
            | Self::UnderBarrelGrenadeLaunchers
            | Self::MountedGrenadeLaunchers
            | Self::PortableAntiAircraftGuns
            | Self::PortableAntiTankGuns
            | Self::RecoillessRifles
            | Self::PortableAntiTankMissileLaunchersAndRocketSystems
            | Self::OtherLightWeapons => ReportingSchemes::UnRegisterAndIti,
        }
    }
}

impl fmt::Display for SalwCategory {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

text_value_serde!(SalwCategory, "a SALW category name");

// ---------------------------------------------------------------------------------------
// Dates and years
// ---------------------------------------------------------------------------------------

/// A calendar date without a time of day, written `YYYY-MM-DD`, in years 1000..=9999.
///
/// Used for what the law dates by day (a licence's validity, a certificate's date of
/// issue), where a time and a time zone would only invite off-by-one-day disputes. Four-
/// digit years keep the text fixed-width, so text order is date order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date(time::Date);

impl Date {
    /// Parses exactly `YYYY-MM-DD`: no signs, no spaces, no time, always two-digit months
    /// and days, so that each date has one spelling.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let shape_error = ValueError::InvalidDate {
            reason: "not of the form YYYY-MM-DD",
        };
        let Ok([y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2]) =
            <[u8; 10]>::try_from(input.as_bytes())
        else {
            return Err(shape_error);
        };
        let number = |digits: &[u8]| {
            digits.iter().try_fold(0_u16, |value, &digit| {
                digit
                    .is_ascii_digit()
                    .then(|| value * 10 + u16::from(digit - b'0'))
            })
        };
        let (Some(year), Some(month), Some(day)) = (
            number(&[y1, y2, y3, y4]),
            number(&[m1, m2]),
            number(&[d1, d2]),
        ) else {
            return Err(shape_error);
        };
        // Two digits are at most 99, so these conversions cannot fail.
        let (Ok(month), Ok(day)) = (u8::try_from(month), u8::try_from(day)) else {
            return Err(shape_error);
        };
        Self::from_calendar(year, month, day)
    }

    /// The date `year`-`month`-`day`, if it exists and `year` is in 1000..=9999.
    pub fn from_calendar(year: u16, month: u8, day: u8) -> Result<Self, ValueError> {
        if !(YEAR_MIN..=YEAR_MAX).contains(&year) {
            return Err(ValueError::InvalidDate {
                reason: "year outside 1000..=9999",
            });
        }
        let month = time::Month::try_from(month).map_err(|_| ValueError::InvalidDate {
            reason: "month outside 1..=12",
        })?;
        time::Date::from_calendar_date(i32::from(year), month, day)
            .map(Self)
            .map_err(|_| ValueError::InvalidDate {
                reason: "no such day in that month",
            })
    }

    /// The date of a `time::Date`, e.g. the day part of an event's timestamp, if its year is
    /// in 1000..=9999.
    pub fn from_time_date(date: time::Date) -> Result<Self, ValueError> {
        let year = u16::try_from(date.year()).map_err(|_| ValueError::InvalidDate {
            reason: "year outside 1000..=9999",
        })?;
        Self::from_calendar(year, u8::from(date.month()), date.day())
    }

    /// This date as a `time::Date`, for date arithmetic.
    pub fn to_time_date(self) -> time::Date {
        self.0
    }

    /// The year, 1000..=9999.
    pub fn year(self) -> u16 {
        // INVARIANT: every constructor checks the year is in 1000..=9999, so it fits.
        u16::try_from(self.0.year()).unwrap_or(YEAR_MIN)
    }

    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        u8::from(self.0.month())
    }

    /// The day of the month, 1..=31.
    pub fn day(self) -> u8 {
        self.0.day()
    }
}

impl fmt::Display for Date {
    /// `YYYY-MM-DD`, digit by digit: dates are written into every view and verdict, and
    /// the general formatting machinery (padding, three calendar lookups) cost more than
    /// the rest of an EUC verification's answer.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.0.to_calendar_date();
        // INVARIANT: YEAR_MIN..=YEAR_MAX keeps the year at four digits.
        let (year, month, day) = (year.unsigned_abs(), u8::from(month), day);
        let digit = |n: u32| b'0' + (n % 10) as u8;
        let text = [
            digit(year / 1000),
            digit(year / 100),
            digit(year / 10),
            digit(year),
            b'-',
            digit(u32::from(month) / 10),
            digit(u32::from(month)),
            b'-',
            digit(u32::from(day) / 10),
            digit(u32::from(day)),
        ];
        formatter.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

text_value_serde!(Date, "a date written YYYY-MM-DD");

const YEAR_MIN: u16 = 1000;
const YEAR_MAX: u16 = 9999;

/// The year a weapon was made, 1000..=9999.
///
/// The upper bound is not "this year" because checking that would need a clock, and value
/// types get none (time is injected into the domain, never read); a year in the future is
/// for the command's rules to refuse, against the event's date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ManufactureYear(u16);

impl ManufactureYear {
    /// Weapons made before this year are antiques, outside the ITI's scope: domestic law
    /// defines antiques, but never to include weapons made after 1899 (ITI para. 4).
    pub const ANTIQUE_BEFORE: u16 = 1900;

    /// Weapons made before this year are exempt from tracing (MOSAIC 05.31).
    pub const TRACING_EXEMPT_BEFORE: u16 = 1946;

    /// The year `year`, if it is in 1000..=9999.
    pub fn new(year: u16) -> Result<Self, ValueError> {
        if (YEAR_MIN..=YEAR_MAX).contains(&year) {
            Ok(Self(year))
        } else {
            Err(ValueError::InvalidYear {
                reason: "outside 1000..=9999",
            })
        }
    }

    /// Parses a year written as exactly four ASCII digits, e.g. `1943`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let digits = input.as_bytes();
        if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(ValueError::InvalidYear {
                reason: "not four digits",
            });
        }
        let year = digits
            .iter()
            .fold(0_u16, |value, &digit| value * 10 + u16::from(digit - b'0'));
        Self::new(year)
    }

    /// The year.
    pub fn get(self) -> u16 {
        self.0
    }

    /// Whether a weapon made this year is an antique (made before 1900), which the ITI does
    /// not cover.
    pub fn is_antique(self) -> bool {
        self.0 < Self::ANTIQUE_BEFORE
    }

    /// Whether a weapon made this year is exempt from tracing (made before 1946, MOSAIC
    /// 05.31). Every antique is also exempt.
    pub fn exempt_from_tracing(self) -> bool {
        self.0 < Self::TRACING_EXEMPT_BEFORE
    }
}

impl From<Date> for ManufactureYear {
    fn from(date: Date) -> Self {
        // INVARIANT: a `Date`'s year is in 1000..=9999, the same range as this type's.
        Self(date.year())
    }
}

impl fmt::Display for ManufactureYear {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:04}", self.0)
    }
}

// A year travels as a JSON number, as years do in the records it comes from.
impl Serialize for ManufactureYear {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.0)
    }
}

impl<'de> Deserialize<'de> for ManufactureYear {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let year = u16::deserialize(deserializer)?;
        Self::new(year).map_err(de::Error::custom)
    }
}

impl FromStr for ManufactureYear {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        Self::parse(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;

    // ------------------------------------------------------------------- country codes

    fn check_country(input: &str, expected: Result<&str, ValueError>) {
        let actual = CountryCode::parse(input).map(|country| {
            assert_eq!(country.as_str(), input);
            assert_eq!(country.to_string(), input);
            country.name()
        });
        assert_eq!(actual, expected, "input {input:?}");
    }

    #[test]
    fn country_codes() {
        let unknown = ValueError::UnknownCountryCode {
            reason: "not officially assigned",
        };
        let malformed = ValueError::UnknownCountryCode {
            reason: "not two upper-case ASCII letters A-Z",
        };
        let cases = [
            ("BE", Ok("Belgium")),
            ("NG", Ok("Nigeria")),
            ("PE", Ok("Peru")),
            ("SO", Ok("Somalia")),
            ("CF", Ok("Central African Republic")),
            ("HT", Ok("Haiti")),
            ("IR", Ok("Iran, Islamic Republic of")),
            ("LR", Ok("Liberia")),
            ("AX", Ok("Åland Islands")),
            ("AD", Ok("Andorra")),
            ("ZW", Ok("Zimbabwe")),
            // Kosovo's XK is user-assigned, not officially assigned.
            ("XK", Err(unknown.clone())),
            // Exceptionally reserved codes are not officially assigned either.
            ("UK", Err(unknown.clone())),
            ("EU", Err(unknown.clone())),
            ("AA", Err(unknown.clone())),
            ("ZZ", Err(unknown)),
            // One spelling: upper case only, no padding.
            ("be", Err(malformed.clone())),
            ("Be", Err(malformed.clone())),
            ("BEL", Err(malformed.clone())),
            ("B", Err(malformed.clone())),
            ("", Err(malformed.clone())),
            (" BE", Err(malformed.clone())),
            ("BE ", Err(malformed.clone())),
            ("56", Err(malformed.clone())),
            ("\u{FF22}\u{FF25}", Err(malformed)),
        ];
        for (input, expected) in cases {
            check_country(input, expected);
        }
    }

    #[test]
    fn country_table_is_sorted_and_well_formed() {
        assert!(COUNTRIES.windows(2).all(|pair| match pair {
            [first, second] => first.0 < second.0,
            _ => false,
        }));
        for (code, name) in COUNTRIES {
            assert!(code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(!name.is_empty());
            assert_eq!(CountryCode::parse(code).map(|c| c.name()), Ok(name));
        }
        assert_eq!(CountryCode::all().len(), 249);
    }

    #[test]
    fn country_table_matches_iso_codes_json() {
        let path = "/usr/share/iso-codes/json/iso_3166-1.json";
        let Ok(text) = std::fs::read_to_string(path) else {
            println!("note: {path} is absent (Debian package iso-codes): count check skipped");
            return;
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let entries = json["3166-1"].as_array().unwrap();
        assert_eq!(COUNTRIES.len(), entries.len());
        let mut from_file: Vec<(&str, &str)> = entries
            .iter()
            .map(|entry| {
                (
                    entry["alpha_2"].as_str().unwrap(),
                    entry["name"].as_str().unwrap(),
                )
            })
            .collect();
        from_file.sort_unstable();
        assert_eq!(COUNTRIES.as_slice(), from_file.as_slice());
    }

    // ------------------------------------------------------------------ serial numbers

    fn check_serial(input: &str, expected: Result<&str, &'static str>) {
        let actual = SerialNumber::parse(input).map(|serial| {
            assert_eq!(serial.as_str(), input);
            assert_eq!(serial.to_string(), input);
            assert_eq!(serial.normalized(), normalize_query(input));
            serial.normalized()
        });
        let expected = expected
            .map(str::to_owned)
            .map_err(|reason| ValueError::InvalidSerialNumber { reason });
        assert_eq!(actual, expected, "input {input:?}");
    }

    #[test]
    fn serial_numbers() {
        let longest = "A".repeat(SERIAL_NUMBER_CHARS_MAX);
        let too_long = "A".repeat(SERIAL_NUMBER_CHARS_MAX + 1);
        let longest_multibyte = "Ж".repeat(SERIAL_NUMBER_CHARS_MAX);
        let cases = [
            ("fn-123 456", Ok("FN123456")),
            ("FN 123-456", Ok("FN123456")),
            ("SN-O1I", Ok("SN011")),
            ("ab/cd.ef", Ok("ABCDEF")),
            ("a_b\\c", Ok("ABC")),
            ("oil", Ok("01L")),
            // Unicode dashes, middle dot and non-breaking space are separators too.
            ("AK\u{2013}47\u{2014}1\u{2212}2\u{2010}3", Ok("AK47123")),
            ("12\u{00B7}34\u{00A0}56", Ok("123456")),
            // Full-width forms are folded to ASCII first.
            (
                "\u{FF46}\u{FF4E}\u{FF0D}\u{FF11}\u{FF12}\u{FF4F}",
                Ok("FN120"),
            ),
            // Illegible digits of an obliterated mark are recorded as read.
            ("12?45", Ok("12?45")),
            ("N°12 345", Ok("N°12345")),
            // Simple upper-case mapping only: ß has no single upper-case character.
            ("éß12", Ok("Éß12")),
            // Cyrillic О (U+041E) is a different letter, not folded to 0.
            ("жО12", Ok("ЖО12")),
            ("Z", Ok("Z")),
            (longest.as_str(), Ok(longest.as_str())),
            (longest_multibyte.as_str(), Ok(longest_multibyte.as_str())),
            ("", Err("empty")),
            (too_long.as_str(), Err("longer than 64 characters")),
            ("  x", Err("leading or trailing whitespace")),
            ("x ", Err("leading or trailing whitespace")),
            ("\u{00A0}x", Err("leading or trailing whitespace")),
            ("A\tB", Err("control character or line break")),
            ("A\nB", Err("control character or line break")),
            ("A\u{0085}B", Err("control character or line break")),
            ("A\u{2028}B", Err("control character or line break")),
            ("A\u{200B}B", Err("invisible format character")),
            ("A\u{00AD}B", Err("invisible format character")),
            ("\u{FEFF}AB", Err("invisible format character")),
            ("---", Err("no letter or digit")),
            ("./-", Err("no letter or digit")),
        ];
        for (input, expected) in cases {
            check_serial(input, expected);
        }
    }

    #[test]
    fn normalize_query_examples() {
        let cases = [
            ("  fn 123-456 ", "FN123456"),
            ("", ""),
            ("sn o1i", "SN011"),
            ("ab/cd.ef", "ABCDEF"),
        ];
        for (query, expected) in cases {
            assert_eq!(normalize_query(query), expected, "query {query:?}");
        }
    }

    // ----------------------------------------------------------------------- calibres

    /// `expected`: the text kept, the bore in hundredths, and `is_ml1`.
    fn check_calibre(input: &str, expected: Result<(&str, Option<u32>, Option<bool>), &str>) {
        let actual = Calibre::parse(input)
            .map(|calibre| {
                (
                    calibre.to_string(),
                    calibre.bore_mm().map(BoreMm::hundredths),
                    calibre.is_ml1(),
                )
            })
            .map_err(|error| match error {
                ValueError::InvalidCalibre { reason } => reason,
                other => panic!("wrong error {other:?}"),
            });
        let expected = expected.map(|(text, bore, ml1)| (text.to_owned(), bore, ml1));
        assert_eq!(actual, expected, "input {input:?}");
    }

    #[test]
    fn calibres() {
        let too_long = "9".repeat(CALIBRE_CHARS_MAX + 1);
        let cases = [
            // The forms DOMAIN.md and the brief list.
            ("7.62x51mm", Ok(("7.62x51mm", Some(762), Some(true)))),
            ("7.62×39mm", Ok(("7.62×39mm", Some(762), Some(true)))),
            (
                "5.56x45mm NATO",
                Ok(("5.56x45mm NATO", Some(556), Some(true))),
            ),
            ("9x19mm", Ok(("9x19mm", Some(900), Some(true)))),
            (
                "9mm Parabellum",
                Ok(("9mm Parabellum", Some(900), Some(true))),
            ),
            (".45 ACP", Ok((".45 ACP", Some(1143), Some(true)))),
            (".50 BMG", Ok((".50 BMG", Some(1270), Some(true)))),
            ("12.7x99mm", Ok(("12.7x99mm", Some(1270), Some(true)))),
            ("12 gauge", Ok(("12 gauge", Some(1853), Some(true)))),
            ("40x46mm", Ok(("40x46mm", Some(4000), Some(false)))),
            ("81mm", Ok(("81mm", Some(8100), Some(false)))),
            (
                "RPG-7 (40mm)",
                Ok(("RPG-7 (40mm)", Some(4000), Some(false))),
            ),
            // Wassenaar: ML1 up to and including 12.7 mm, ML2 above.
            ("12.7x108mm", Ok(("12.7x108mm", Some(1270), Some(true)))),
            ("12.71mm", Ok(("12.71mm", Some(1271), Some(false)))),
            ("14.5x114mm", Ok(("14.5x114mm", Some(1450), Some(false)))),
            ("20mm", Ok(("20mm", Some(2000), Some(false)))),
            // Gauges: smooth bores, ML1 below 20 mm.
            ("10 gauge", Ok(("10 gauge", Some(1969), Some(true)))),
            ("16 gauge", Ok(("16 gauge", Some(1683), Some(true)))),
            ("20 gauge", Ok(("20 gauge", Some(1563), Some(true)))),
            ("28 gauge", Ok(("28 gauge", Some(1397), Some(true)))),
            ("12ga", Ok(("12ga", Some(1853), Some(true)))),
            (
                "12-Gauge Magnum",
                Ok(("12-Gauge Magnum", Some(1853), Some(true))),
            ),
            ("12 bore", Ok(("12 bore", Some(1853), Some(true)))),
            ("24 gauge", Ok(("24 gauge", None, None))),
            // Other written forms.
            ("7.62x54R", Ok(("7.62x54R", Some(762), Some(true)))),
            ("7,62 x 39 mm", Ok(("7,62 x 39 mm", Some(762), Some(true)))),
            ("9 MM", Ok(("9 MM", Some(900), Some(true)))),
            (
                "Type 56 (7.62x39mm)",
                Ok(("Type 56 (7.62x39mm)", Some(762), Some(true))),
            ),
            ("7.625mm", Ok(("7.625mm", Some(763), Some(true)))),
            (
                ".308 Winchester",
                Ok((".308 Winchester", Some(782), Some(true))),
            ),
            (".22 LR", Ok((".22 LR", Some(559), Some(true)))),
            (".410 bore", Ok((".410 bore", Some(1041), Some(true)))),
            (
                ".45-70 Government",
                Ok((".45-70 Government", Some(1143), Some(true))),
            ),
            ("M2 [.50]", Ok(("M2 [.50]", Some(1270), Some(true)))),
            ("  9mm \t", Ok(("9mm", Some(900), Some(true)))),
            // Accepted, bore unknown.
            ("5.56 NATO", Ok(("5.56 NATO", None, None))),
            ("AK-47", Ok(("AK-47", None, None))),
            ("Type 1956", Ok(("Type 1956", None, None))),
            ("0mm", Ok(("0mm", None, None))),
            ("1000mm", Ok(("1000mm", None, None))),
            (".4570", Ok((".4570", None, None))),
            ("9.mm", Ok(("9.mm", None, None))),
            ("unknown", Ok(("unknown", None, None))),
            // Refused.
            ("", Err("empty")),
            (" \t ", Err("empty")),
            (too_long.as_str(), Err("longer than 64 characters")),
            ("9mm\u{0}x", Err("control character")),
        ];
        for (input, expected) in cases {
            check_calibre(input, expected);
        }
    }

    #[test]
    fn bores() {
        let cases = [
            (0, Err(ValueError::InvalidBore { reason: "zero" })),
            (1, Ok("0.01 mm")),
            (762, Ok("7.62 mm")),
            (1270, Ok("12.70 mm")),
            (99_999, Ok("999.99 mm")),
            (
                100_000,
                Err(ValueError::InvalidBore {
                    reason: "larger than 999.99 mm",
                }),
            ),
        ];
        for (hundredths, expected) in cases {
            let actual = BoreMm::from_hundredths(hundredths).map(|bore| {
                assert_eq!(bore.hundredths(), hundredths);
                bore.to_string()
            });
            assert_eq!(
                actual,
                expected.map(str::to_owned),
                "hundredths {hundredths}"
            );
        }
    }

    // ----------------------------------------------------------------- SALW categories

    #[test]
    fn salw_categories() {
        use ReportingSchemes::{ItiOnly, UnRegisterAndIti, UnRegisterOnly};
        use SalwCategory as C;
        // (category, name, small arm, schemes)
        let cases = [
            (
                C::RevolversAndSelfLoadingPistols,
                "revolvers_and_self_loading_pistols",
                true,
                UnRegisterAndIti,
            ),
            (
                C::RiflesAndCarbines,
                "rifles_and_carbines",
                true,
                UnRegisterAndIti,
            ),
            (
                C::SubMachineGuns,
                "sub_machine_guns",
                true,
                UnRegisterAndIti,
            ),
            (C::AssaultRifles, "assault_rifles", true, UnRegisterAndIti),
            (
                C::LightMachineGuns,
                "light_machine_guns",
                true,
                UnRegisterAndIti,
            ),
            (
                C::OtherSmallArms,
                "other_small_arms",
                true,
                UnRegisterAndIti,
            ),
            (
                C::HeavyMachineGuns,
                "heavy_machine_guns",
                false,
                UnRegisterAndIti,
            ),
            (
                C::UnderBarrelGrenadeLaunchers,
                "under_barrel_grenade_launchers",
                false,
                UnRegisterAndIti,
            ),
            (
                C::MountedGrenadeLaunchers,
                "mounted_grenade_launchers",
                false,
                UnRegisterAndIti,
            ),
            (
                C::PortableAntiAircraftGuns,
                "portable_anti_aircraft_guns",
                false,
                UnRegisterAndIti,
            ),
            (
                C::PortableAntiTankGuns,
                "portable_anti_tank_guns",
                false,
                UnRegisterAndIti,
            ),
            (
                C::RecoillessRifles,
                "recoilless_rifles",
                false,
                UnRegisterAndIti,
            ),
            (
                C::PortableAntiTankMissileLaunchersAndRocketSystems,
                "portable_anti_tank_missile_launchers_and_rocket_systems",
                false,
                UnRegisterAndIti,
            ),
            (
                C::MortarsUnder75mm,
                "mortars_under_75mm",
                false,
                UnRegisterOnly,
            ),
            (
                C::OtherLightWeapons,
                "other_light_weapons",
                false,
                UnRegisterAndIti,
            ),
            (C::MortarsUnder100mm, "mortars_under_100mm", false, ItiOnly),
            (
                C::PortableAntiAircraftMissileLaunchers,
                "portable_anti_aircraft_missile_launchers",
                false,
                ItiOnly,
            ),
        ];
        assert_eq!(cases.len(), SalwCategory::ALL.len());
        for ((category, name, small_arm, schemes), listed) in
            cases.into_iter().zip(SalwCategory::ALL)
        {
            assert_eq!(category, listed, "ALL is in declaration order");
            assert_eq!(category.as_str(), name);
            assert_eq!(category.to_string(), name);
            assert_eq!(SalwCategory::parse(name), Ok(category));
            assert_eq!(category.is_small_arm(), small_arm, "{name}");
            assert_eq!(category.is_light_weapon(), !small_arm, "{name}");
            assert_eq!(category.register_category(), schemes, "{name}");
        }
        assert!(UnRegisterAndIti.in_un_register() && UnRegisterAndIti.in_iti());
        assert!(UnRegisterOnly.in_un_register() && !UnRegisterOnly.in_iti());
        assert!(!ItiOnly.in_un_register() && ItiOnly.in_iti());

        for refused in [
            "",
            "Assault_Rifles",
            "assault rifles",
            "AssaultRifles",
            "mortars_under75mm",
            "pistols",
        ] {
            assert_eq!(
                SalwCategory::parse(refused),
                Err(ValueError::UnknownSalwCategory),
                "{refused:?}"
            );
        }
    }

    // ------------------------------------------------------------------ dates and years

    fn check_date(input: &str, expected: Result<(u16, u8, u8), &'static str>) {
        let actual = Date::parse(input).map(|date| {
            assert_eq!(date.to_string(), input, "one spelling");
            (date.year(), date.month(), date.day())
        });
        let expected = expected.map_err(|reason| ValueError::InvalidDate { reason });
        assert_eq!(actual, expected, "input {input:?}");
    }

    #[test]
    fn dates() {
        let shape = "not of the form YYYY-MM-DD";
        let cases = [
            ("2024-02-29", Ok((2024, 2, 29))),
            ("1999-12-31", Ok((1999, 12, 31))),
            ("1000-01-01", Ok((1000, 1, 1))),
            ("9999-12-31", Ok((9999, 12, 31))),
            ("2023-02-29", Err("no such day in that month")),
            ("2024-04-31", Err("no such day in that month")),
            ("2024-01-00", Err("no such day in that month")),
            ("2024-13-01", Err("month outside 1..=12")),
            ("2024-00-10", Err("month outside 1..=12")),
            ("0999-12-31", Err("year outside 1000..=9999")),
            ("0000-01-01", Err("year outside 1000..=9999")),
            ("2024-1-01", Err(shape)),
            ("2024-01-1", Err(shape)),
            ("24-01-01", Err(shape)),
            ("2024/01/01", Err(shape)),
            ("2024-01-01T00:00:00Z", Err(shape)),
            (" 2024-01-01", Err(shape)),
            ("2024-01-01 ", Err(shape)),
            ("+024-01-01", Err(shape)),
            ("2024-0a-01", Err(shape)),
            ("\u{FF12}024-01-01", Err(shape)),
            ("", Err(shape)),
        ];
        for (input, expected) in cases {
            check_date(input, expected);
        }
    }

    #[test]
    fn every_date_is_written_as_it_is_parsed() {
        let mut day = time::Date::from_calendar_date(1000, time::Month::January, 1).unwrap();
        let last = time::Date::from_calendar_date(9999, time::Month::December, 31).unwrap();
        loop {
            let date = Date::from_time_date(day).unwrap();
            let text = date.to_string();
            let expected = format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day());
            assert_eq!(text, expected);
            assert_eq!(Date::parse(&text), Ok(date));
            if day == last {
                break;
            }
            day = day.next_day().unwrap();
        }
    }

    #[test]
    fn date_order_and_time_interop() {
        let earlier = Date::parse("1999-12-31").unwrap();
        let later = Date::parse("2000-01-01").unwrap();
        assert!(earlier < later);
        assert_eq!(Date::from_time_date(later.to_time_date()), Ok(later));
        let ancient = time::Date::from_calendar_date(999, time::Month::December, 31).unwrap();
        assert_eq!(
            Date::from_time_date(ancient),
            Err(ValueError::InvalidDate {
                reason: "year outside 1000..=9999"
            })
        );
        assert_eq!(ManufactureYear::from(earlier).get(), 1999);
    }

    #[test]
    fn manufacture_years() {
        // (year, antique, exempt from tracing)
        let cases = [
            (1000, true, true),
            (1899, true, true),
            (1900, false, true),
            (1945, false, true),
            (1946, false, false),
            (2024, false, false),
            (9999, false, false),
        ];
        for (year, antique, exempt) in cases {
            let parsed = ManufactureYear::new(year).unwrap();
            assert_eq!(parsed.get(), year);
            assert_eq!(parsed.is_antique(), antique, "{year}");
            assert_eq!(parsed.exempt_from_tracing(), exempt, "{year}");
            assert_eq!(ManufactureYear::parse(&parsed.to_string()), Ok(parsed));
        }
        let outside = Err(ValueError::InvalidYear {
            reason: "outside 1000..=9999",
        });
        let not_digits = Err(ValueError::InvalidYear {
            reason: "not four digits",
        });
        assert_eq!(ManufactureYear::new(999), outside);
        assert_eq!(ManufactureYear::new(10_000), outside);
        assert_eq!(ManufactureYear::parse("0999"), outside);
        for refused in ["", "943", "19430", "+943", " 1943", "1943 ", "19.4"] {
            assert_eq!(ManufactureYear::parse(refused), not_digits, "{refused:?}");
        }
    }

    // --------------------------------------------------------------------------- serde

    /// A canonical JSON value deserialises and serialises back to the same text.
    fn round_trip<T: Serialize + DeserializeOwned + fmt::Debug>(json: &str) {
        let value: T =
            serde_json::from_str(json).unwrap_or_else(|error| panic!("{json} refused: {error}"));
        assert_eq!(serde_json::to_string(&value).unwrap(), json, "{value:?}");
    }

    /// A JSON value that the checking constructor refuses is refused, with its message.
    fn refused<T: DeserializeOwned + fmt::Debug>(json: &str, message: &str) {
        let error = serde_json::from_str::<T>(json).unwrap_err().to_string();
        assert!(error.contains(message), "{json}: {error}");
    }

    #[test]
    fn serde_round_trips() {
        for json in [r#""BE""#, r#""AX""#] {
            round_trip::<CountryCode>(json);
        }
        for json in [r#""FN 123-456""#, r#""12?45""#, r#""ЖО12""#] {
            round_trip::<SerialNumber>(json);
        }
        for json in [r#""7.62×39mm""#, r#""RPG-7 (40mm)""#, r#""unknown""#] {
            round_trip::<Calibre>(json);
        }
        for category in SalwCategory::ALL {
            round_trip::<SalwCategory>(&format!("\"{category}\""));
        }
        for json in [r#""2024-02-29""#, r#""1000-01-01""#] {
            round_trip::<Date>(json);
        }
        round_trip::<ManufactureYear>("1943");
        round_trip::<BoreMm>("1270");
    }

    #[test]
    fn serde_refusals() {
        let unknown_country = "not an officially assigned ISO 3166-1 alpha-2 country code";
        refused::<CountryCode>(r#""be""#, unknown_country);
        refused::<CountryCode>(r#""XK""#, unknown_country);
        refused::<CountryCode>("56", "an ISO 3166-1 alpha-2 country code");
        refused::<SerialNumber>(r#""  x""#, "invalid serial number");
        refused::<SerialNumber>(r#""A\u0000B""#, "invalid serial number");
        refused::<Calibre>(r#""""#, "invalid calibre");
        refused::<SalwCategory>(r#""AssaultRifles""#, "unknown SALW category");
        refused::<Date>(r#""2023-02-29""#, "invalid date");
        refused::<Date>(r#""2024-02-29T00:00:00Z""#, "invalid date");
        refused::<ManufactureYear>("999", "invalid year");
        refused::<ManufactureYear>(r#""1943""#, "u16");
        refused::<BoreMm>("0", "invalid bore");
        refused::<BoreMm>("-1", "u32");
    }

    #[test]
    fn calibre_is_trimmed_through_serde() {
        let calibre: Calibre = serde_json::from_str(r#"" 9mm ""#).unwrap();
        assert_eq!(serde_json::to_string(&calibre).unwrap(), r#""9mm""#);
    }

    #[test]
    fn error_codes_are_stable() {
        let cases = [
            (
                ValueError::UnknownCountryCode { reason: "" },
                "unknown_country_code",
            ),
            (
                ValueError::InvalidSerialNumber { reason: "" },
                "invalid_serial_number",
            ),
            (ValueError::InvalidCalibre { reason: "" }, "invalid_calibre"),
            (ValueError::InvalidBore { reason: "" }, "invalid_bore"),
            (ValueError::UnknownSalwCategory, "unknown_salw_category"),
            (ValueError::InvalidDate { reason: "" }, "invalid_date"),
            (ValueError::InvalidYear { reason: "" }, "invalid_year"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
        }
    }
}
