//! JSON Schemas of the value types that serialise as one string or number (their serde
//! is written by hand, so the derive cannot see their shape), for the API's OpenAPI
//! document. Only with the `openapi` feature.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::catalogue::{TEXT_CHARS_MAX, Text, WeaponId};
use crate::values::{Calibre, CountryCode, Date, ManufactureYear, SalwCategory};

fn string(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
}

/// Implements `ToSchema` (under the type's own name) with the given schema.
macro_rules! schema {
    ($type:ty, $name:literal, $schema:expr) => {
        impl PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }
        impl ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

schema!(
    CountryCode,
    "CountryCode",
    string("An ISO 3166-1 alpha-2 country code, upper case").pattern(Some("^[A-Z]{2}$"))
);
schema!(
    Date,
    "Date",
    string("A calendar date, YYYY-MM-DD")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
);
schema!(
    WeaponId,
    "WeaponId",
    string("A weapon's id: a UUID, lower-case hyphenated")
        .format(Some(SchemaFormat::Custom("uuid".into())))
);
schema!(
    Calibre,
    "Calibre",
    string("A calibre as marked or recorded (`7.62x51mm`, `.45 ACP`...)")
);
schema!(
    Text,
    "Text",
    string("Free text: not blank, no control characters but line feeds")
        .max_length(Some(TEXT_CHARS_MAX))
);
schema!(
    SalwCategory,
    "SalwCategory",
    string("The category of small arm or light weapon (DOMAIN.md)")
        .enum_values(Some(SalwCategory::ALL.iter().map(|c| c.as_str())))
);
schema!(
    ManufactureYear,
    "ManufactureYear",
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some("A year of manufacture"))
        .minimum(Some(1000))
        .maximum(Some(9999))
);
