//! Forgiving decoding for the API's models.
//!
//! The LiveAgent spec does not state nullability, and real servers are not always consistent
//! (an id sent as a number, a count sent as a string, an empty string for a missing date). One
//! surprising value must not make a whole list of ten thousand tickets fail to decode, so the
//! generated models (see [`Model`]) decode every field by the rules of [`lenient`] and
//! [`lenient_vec`]:
//!
//! - `null` or a missing field is `None`;
//! - text fields accept strings, numbers and booleans (`5` becomes `"5"`);
//! - number fields accept numbers and numeric strings; integer fields also accept integral
//!   floats (`3.0`) and integral strings;
//! - boolean fields accept booleans, `0`/`1`, and the strings `true`/`false`, `1`/`0`, `Y`/`N`,
//!   `yes`/`no`;
//! - enums keep any text they do not know (see the generated `Unknown(String)` variants);
//! - a value of the wrong kind (an object where text was expected, text that is not a number,
//!   an array where an object was expected, ...) is skipped and the field is `None`; in a list,
//!   such an item is left out.
//!
//! Errors remain for documents that are not JSON at all, or whose top level has the wrong shape
//! (an object where a list was expected); they carry the JSON path (see
//! [`Error::Decode`](crate::Error::Decode)).
//!
//! # Numbers
//!
//! Through the SDK's decode path ([`crate::response::decode_json`], which every operation
//! uses), numbers keep what the server sent:
//!
//! - a text field holding a number gets the number's text exactly as written, also an integer
//!   beyond 64 bits (`123456789012345678901234567890`) or a float (`4.50`);
//! - an integer field gets the integer the text denotes, or `None` when it is not a whole
//!   number or does not fit an `i64` (never a nearby number);
//! - a number field gets the `f64` nearest to the text;
//! - a number beyond `f64`'s range (`1e400`) reads as `null`: such a field is `None`, and such
//!   a value in a free-form JSON field is `null`, instead of failing the whole response.
//!
//! The common case costs nothing extra: a body is decoded once, and decoded again with each
//! scalar read from its raw text only when a float reached a text or integer field (the only
//! case where the parsed number may differ from the text), or when the body holds a number
//! beyond `f64`'s range. Free-form JSON fields ([`JsonObject`], `serde_json::Value`) hold what
//! `serde_json::Value` can: an integer beyond 64 bits becomes the nearest `f64` there.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A JSON object with arbitrary keys, for the operations whose shape the spec leaves open.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// A value that can be decoded forgivingly: `Ok(None)` when the input has the wrong kind.
pub trait Lenient: Sized {
    /// Decodes a value, or `None` when the input does not fit.
    fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Self>, D::Error>;
}

/// The `Visitor` methods of a container visitor (`Value = Option<_>`) for everything that is
/// not a container: `null` and scalars read as `None`; `Some(x)` is visited as `x`.
macro_rules! none_for_null_and_scalars {
    ($de:lifetime) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<$de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

/// `deserialize_with` helper for `Option<T>` fields.
pub fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Lenient,
{
    T::lenient(deserializer)
}

/// `deserialize_with` helper for `Option<Vec<T>>` fields: items of the wrong kind are left out;
/// anything but an array is `None`.
pub fn lenient_vec<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Lenient,
{
    struct VecVisitor<T>(PhantomData<T>);

    impl<'de, T: Lenient> Visitor<'de> for VecVisitor<T> {
        type Value = Option<Vec<T>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(item) = seq.next_element_seed(LenientSeed::<T>(PhantomData))? {
                if let Some(item) = item {
                    items.push(item);
                }
            }
            Ok(Some(items))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            skip_map(map).map(|()| None)
        }

        none_for_null_and_scalars!('de);
    }

    deserializer.deserialize_any(VecVisitor(PhantomData))
}

struct LenientSeed<T>(PhantomData<T>);

impl<'de, T: Lenient> DeserializeSeed<'de> for LenientSeed<T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        T::lenient(deserializer)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A scalar seen in the input, before it is converted to the field's type.
enum Scalar<'a> {
    Str(&'a str),
    I64(i64),
    U64(u64),
    F64(f64),
    /// A number as its JSON text, when scalars are read exactly (see [`NumberMode`]).
    Number(&'a str),
    Bool(bool),
}

/// A type a scalar converts to, if it fits.
trait FromScalar: Sized {
    /// What the field expects, for error messages.
    const EXPECTING: &'static str;

    /// Whether a float may come out differently from its text in this type (text fields keep a
    /// number's text; integer fields must not take a rounded float for a whole number): such a
    /// float makes the body be decoded again with exact scalars.
    const NEEDS_TEXT_OF_FLOATS: bool;

    /// The value for this scalar, or `None` when it does not fit.
    fn from_scalar(value: Scalar<'_>) -> Option<Self>;

    /// The value for a scalar read from its raw text (the exact mode).
    fn from_scalar_text(raw: RawScalar) -> Option<Self> {
        Self::from_scalar(raw.as_scalar())
    }
}

/// Decodes any JSON value, converts scalars with [`FromScalar`], and turns everything else into
/// `None`.
fn scalar<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromScalar,
{
    struct ScalarVisitor<T>(PhantomData<T>);

    impl<'de, T: FromScalar> Visitor<'de> for ScalarVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(T::from_scalar(Scalar::Str(v)))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(T::from_scalar(Scalar::I64(v)))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(T::from_scalar(Scalar::U64(v)))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if T::NEEDS_TEXT_OF_FLOATS {
                NumberMode::note_approximation();
            }
            Ok(T::from_scalar(Scalar::F64(v)))
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(T::from_scalar(Scalar::Bool(v)))
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            skip_seq(seq).map(|()| None)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            skip_map(map).map(|()| None)
        }
    }

    if NumberMode::is_exact() {
        return Ok(raw_scalar(deserializer)?.and_then(T::from_scalar_text));
    }
    deserializer.deserialize_any(ScalarVisitor(PhantomData))
}

/// A scalar read from its raw JSON text, for the exact mode: numbers are not parsed (so none
/// is rounded, and none is out of range), strings are unescaped. `None` for `null`, a list or an
/// object.
fn raw_scalar<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<RawScalar>, D::Error> {
    let raw = <Box<serde_json::value::RawValue> as de::Deserialize>::deserialize(deserializer)?;
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text)
            .ok()
            .map(RawScalar::Str),
        Some(b't') => Some(RawScalar::Bool(true)),
        Some(b'f') => Some(RawScalar::Bool(false)),
        Some(b'-' | b'0'..=b'9') => Some(RawScalar::Number(text.to_owned())),
        _ => None,
    })
}

/// A scalar as [`raw_scalar`] reads it.
enum RawScalar {
    Str(String),
    Number(String),
    Bool(bool),
}

impl RawScalar {
    fn as_scalar(&self) -> Scalar<'_> {
        match self {
            RawScalar::Str(text) => Scalar::Str(text),
            RawScalar::Number(text) => Scalar::Number(text),
            RawScalar::Bool(b) => Scalar::Bool(*b),
        }
    }
}

/// How the decoders read scalars during one decode on this thread (see [`with_number_mode`]).
#[derive(Clone, Copy, Debug, Default)]
struct NumberMode {
    /// Read every scalar from its raw text.
    exact: bool,
    /// A float reached a field whose value may differ from the float's text.
    approximated: bool,
}

thread_local! {
    static NUMBER_MODE: Cell<NumberMode> = const {
        Cell::new(NumberMode { exact: false, approximated: false })
    };
}

impl NumberMode {
    fn is_exact() -> bool {
        NUMBER_MODE.with(|mode| mode.get().exact)
    }

    #[cold]
    fn note_approximation() {
        NUMBER_MODE.with(|mode| {
            mode.set(NumberMode {
                approximated: true,
                ..mode.get()
            })
        });
    }
}

/// Puts back the mode that was in force before [`with_number_mode`], also when decoding
/// panics.
struct RestoreMode(NumberMode);

impl Drop for RestoreMode {
    fn drop(&mut self) {
        NUMBER_MODE.with(|mode| mode.set(self.0));
    }
}

/// Runs `decode` (which decodes with this module's decoders on this thread), with scalars read
/// from their raw text when `exact` is true. Returns its result and, when `exact` is false,
/// whether a float reached a text or integer field (the result may then differ from the text:
/// decode again with `exact`).
pub(crate) fn with_number_mode<R>(exact: bool, decode: impl FnOnce() -> R) -> (R, bool) {
    let mode = NumberMode {
        exact,
        approximated: false,
    };
    let restore = RestoreMode(NUMBER_MODE.with(|cell| cell.replace(mode)));
    let result = decode();
    let approximated = NUMBER_MODE.with(|cell| cell.get().approximated);
    drop(restore);
    (result, approximated)
}

/// The integer a JSON number (or numeric text) denotes, when it is a whole number that fits an
/// `i64`: `"42"`, `"-7"`, `"4.0"`, `"1e3"`, `"12500e-2"`. `None` for anything else, also for a
/// number that would round to an integer as a float (`"1.00000000000000001"`).
fn integer_from_text(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let is_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !is_digits(whole) || !is_digits(fraction) {
        return None;
    }
    // The digits without leading zeros, and where the decimal point falls among them.
    let digits: String = whole.chars().chain(fraction.chars()).collect();
    let significant = digits.trim_start_matches('0');
    let leading_zeros = digits.len() - significant.len();
    let significant = significant.trim_end_matches('0');
    if significant.is_empty() {
        return Some(0);
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !is_digits(digits) {
                return None;
            }
            // An exponent too large for an i64 cannot give a whole number that fits.
            e.parse().ok()?
        }
    };
    let point = (whole.len() as i64 - leading_zeros as i64).checked_add(exponent)?;
    let len = significant.len() as i64;
    if point < len || point > 19 {
        return None;
    }
    let zeros = usize::try_from(point - len).ok()?;
    let magnitude: i128 = format!("{significant}{}", "0".repeat(zeros)).parse().ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Whether a JSON number's text is an integer literal (no fraction, no exponent), which the
/// fast path reads as an integer rather than a float.
fn is_integer_literal(text: &str) -> bool {
    !text.contains(['.', 'e', 'E'])
}

/// Text fields: numbers and booleans are written out.
impl FromScalar for String {
    const EXPECTING: &'static str = "text";
    const NEEDS_TEXT_OF_FLOATS: bool = true;

    fn from_scalar(value: Scalar<'_>) -> Option<Self> {
        Some(match value {
            Scalar::Str(s) | Scalar::Number(s) => s.to_owned(),
            Scalar::I64(n) => n.to_string(),
            Scalar::U64(n) => n.to_string(),
            Scalar::F64(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        })
    }

    fn from_scalar_text(raw: RawScalar) -> Option<Self> {
        // The text itself, without copying it again.
        Some(match raw {
            RawScalar::Str(text) | RawScalar::Number(text) => text,
            RawScalar::Bool(b) => b.to_string(),
        })
    }
}

impl FromScalar for f64 {
    const EXPECTING: &'static str = "a number";
    // The parser gives the float nearest to the text (serde_json's `float_roundtrip`).
    const NEEDS_TEXT_OF_FLOATS: bool = false;

    fn from_scalar(value: Scalar<'_>) -> Option<Self> {
        match value {
            Scalar::Str(s) | Scalar::Number(s) => {
                s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
            }
            Scalar::I64(n) => Some(n as f64),
            Scalar::U64(n) => Some(n as f64),
            Scalar::F64(n) => Some(n),
            Scalar::Bool(_) => None,
        }
    }
}

impl FromScalar for i64 {
    const EXPECTING: &'static str = "an integer";
    const NEEDS_TEXT_OF_FLOATS: bool = true;

    fn from_scalar(value: Scalar<'_>) -> Option<Self> {
        // A float alone is trusted only where every whole number is exact (up to 2^53); the SDK's
        // decode path reads such a value again from its text (see the module's "Numbers").
        const EXACT: f64 = 9_007_199_254_740_992.0;
        match value {
            Scalar::Str(s) | Scalar::Number(s) => integer_from_text(s),
            Scalar::I64(n) => Some(n),
            Scalar::U64(n) => i64::try_from(n).ok(),
            Scalar::F64(f) => (f.fract() == 0.0 && f.abs() <= EXACT).then_some(f as i64),
            Scalar::Bool(_) => None,
        }
    }
}

impl FromScalar for bool {
    const EXPECTING: &'static str = "a boolean";
    const NEEDS_TEXT_OF_FLOATS: bool = false;

    fn from_scalar(value: Scalar<'_>) -> Option<Self> {
        match value {
            Scalar::Bool(b) => Some(b),
            Scalar::I64(0) | Scalar::U64(0) => Some(false),
            Scalar::I64(1) | Scalar::U64(1) => Some(true),
            // As the integers `0` and `1` above: a float (`1.0`) is not a boolean.
            Scalar::Number(text) if is_integer_literal(text) => match text.parse::<i128>() {
                Ok(0) => Some(false),
                Ok(1) => Some(true),
                _ => None,
            },
            Scalar::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "y" | "yes" => Some(true),
                "false" | "0" | "n" | "no" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The scalar types decode through [`scalar`].
macro_rules! lenient_scalars {
    ($($ty:ty),*) => {$(
        impl Lenient for $ty {
            fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
                scalar(d)
            }
        }
    )*};
}

lenient_scalars!(String, f64, i64, bool);

/// A list: items of the wrong kind are left out, anything but an array is `None` (see
/// [`lenient_vec`]).
impl<T: Lenient> Lenient for Vec<T> {
    fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        lenient_vec(d)
    }
}

impl Lenient for serde_json::Value {
    fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        let value = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
        Ok((!value.is_null()).then_some(value))
    }
}

impl Lenient for JsonObject {
    fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
        match <serde_json::Value as serde::Deserialize>::deserialize(d)? {
            serde_json::Value::Object(map) => Ok(Some(map)),
            _ => Ok(None),
        }
    }
}

/// [`Lenient::lenient`] for a struct: an object decodes as `T`, anything else is `None`.
///
/// The generated models implement [`Lenient`] with this.
pub fn lenient_struct<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: de::Deserialize<'de>,
{
    struct StructVisitor<T>(PhantomData<T>);

    impl<'de, T: de::Deserialize<'de>> Visitor<'de> for StructVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map)).map(Some)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            skip_seq(seq).map(|()| None)
        }

        none_for_null_and_scalars!('de);
    }

    deserializer.deserialize_any(StructVisitor(PhantomData))
}

/// A model decoded field by field from a JSON object. The generated models implement it, take
/// their `Deserialize` from [`deserialize_model`], and their [`Lenient`] from [`lenient_struct`]
/// (which hands an object to `deserialize_model` and turns anything else into `None`).
///
/// Decoding starts from `Default` (every field `None`), reads each key the model knows with
/// [`Model::read_field`] (which uses [`field`], so a value of the wrong kind is `None`) and skips
/// the keys it does not know. One loop in this module serves every model: the models hold only
/// their two `match`es, not a decoder of their own for every field.
pub trait Model: Default {
    /// The schema's name, for error messages.
    const NAME: &'static str;

    /// The position of the field the JSON key `key` names, or `None` for a key the model does
    /// not know.
    fn field_index(key: &str) -> Option<usize>;

    /// Reads the value of the field at `index` (as given by [`Model::field_index`]) from `map`
    /// into `self`.
    fn read_field<'de, A: MapAccess<'de>>(
        &mut self,
        index: usize,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

/// Reads the next value of `map` as an `Option<T>` field, forgivingly (see [`lenient`]): for
/// [`Model::read_field`].
pub fn field<'de, A, T>(map: &mut A) -> Result<Option<T>, A::Error>
where
    A: MapAccess<'de>,
    T: Lenient,
{
    map.next_value_seed(LenientSeed::<T>(PhantomData))
}

/// `Deserialize` for a [`Model`]: a JSON object decodes field by field; anything else is an
/// error naming the schema.
pub fn deserialize_model<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Model,
{
    struct ModelVisitor<T>(PhantomData<T>);

    impl<'de, T: Model> Visitor<'de> for ModelVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "an object (the `{}` schema)", T::NAME)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            read_model(map)
        }
    }

    deserializer.deserialize_map(ModelVisitor(PhantomData))
}

/// The field loop every model shares. A key that appears twice keeps its last value.
fn read_model<'de, A: MapAccess<'de>, T: Model>(mut map: A) -> Result<T, A::Error> {
    let mut model = T::default();
    while let Some(index) = map.next_key_seed(KeySeed::<T>(PhantomData))? {
        match index {
            Some(index) => model.read_field(index, &mut map)?,
            None => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(model)
}

/// Reads an object key as the position of the model's field it names (`None`: unknown key),
/// without copying the key.
struct KeySeed<T>(PhantomData<T>);

impl<'de, T: Model> DeserializeSeed<'de> for KeySeed<T> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de, T: Model> Visitor<'de> for KeySeed<T> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(T::field_index(key))
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<Self::Value, E> {
        Ok(std::str::from_utf8(key).ok().and_then(T::field_index))
    }
}

/// [`Lenient::lenient`] for a string enum: any scalar is read as text and converted with
/// `From<String>` (so unknown values are kept); anything else is `None`.
pub fn lenient_enum<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    Ok(String::lenient(deserializer)?.map(T::from))
}

/// `Deserialize` for a string enum (the generated enums use it): reads text and converts it with
/// `From<String>`, so an unknown value becomes the `Unknown` variant instead of an error.
pub fn deserialize_enum<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: From<String>,
{
    if NumberMode::is_exact() {
        return match raw_scalar(deserializer)? {
            Some(raw) => String::from_scalar_text(raw)
                .map(T::from)
                .ok_or_else(EnumText::refuse),
            None => Err(EnumText::refuse()),
        };
    }
    deserializer.deserialize_any(EnumText).map(T::from)
}

/// Reads an enum value's text, refusing what has none (`null`, a list, an object) from inside
/// the visitor, so that the decoder gives the error the value's position (the JSON path of a
/// decode error is found from it). One visitor for every enum type.
struct EnumText;

impl EnumText {
    fn refuse<E: de::Error>() -> E {
        E::custom("expected text for an enum value")
    }

    /// A scalar's text, by the rules of text fields (`FromScalar for String`).
    fn text<E: de::Error>(value: Scalar<'_>) -> Result<String, E> {
        String::from_scalar(value).ok_or_else(Self::refuse)
    }
}

impl<'de> Visitor<'de> for EnumText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("text for an enum value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Self::text(Scalar::Str(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Self::text(Scalar::I64(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Self::text(Scalar::U64(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        NumberMode::note_approximation();
        Self::text(Scalar::F64(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Self::text(Scalar::Bool(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(Self::refuse())
    }

    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Err(Self::refuse())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }

    // A list or an object is read to its end first, so that the error's position is past the
    // whole value.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<String, A::Error> {
        skip_seq(seq).and_then(|()| Err(Self::refuse()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        skip_map(map).and_then(|()| Err(Self::refuse()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, Default, PartialEq)]
    #[serde(default)]
    struct Inner {
        #[serde(deserialize_with = "lenient")]
        name: Option<String>,
    }

    impl Lenient for Inner {
        fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
            lenient_struct(d)
        }
    }

    /// A model written the way the generator writes them (see `la-codegen`'s `emit_models`).
    #[derive(Debug, Default, PartialEq)]
    struct Record {
        id: Option<String>,
        count: Option<f64>,
        n: Option<i64>,
        flag: Option<bool>,
        inner: Option<Inner>,
        tags: Option<Vec<String>>,
        inners: Option<Vec<Inner>>,
        extra: Option<JsonObject>,
    }

    impl Model for Record {
        const NAME: &'static str = "Record";

        fn field_index(key: &str) -> Option<usize> {
            [
                "id", "count", "n", "flag", "inner", "tags", "inners", "extra",
            ]
            .iter()
            .position(|name| *name == key)
        }

        fn read_field<'de, A: MapAccess<'de>>(
            &mut self,
            index: usize,
            map: &mut A,
        ) -> Result<(), A::Error> {
            match index {
                0 => self.id = field(map)?,
                1 => self.count = field(map)?,
                2 => self.n = field(map)?,
                3 => self.flag = field(map)?,
                4 => self.inner = field(map)?,
                5 => self.tags = field(map)?,
                6 => self.inners = field(map)?,
                7 => self.extra = field(map)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }

    impl<'de> Deserialize<'de> for Record {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            deserialize_model(d)
        }
    }

    impl Lenient for Record {
        fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Self>, D::Error> {
            lenient_struct(d)
        }
    }

    fn parse(json: &str) -> Record {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn well_formed_values_decode() {
        let m = parse(
            r#"{"id":"7","count":2.5,"n":3,"flag":true,"inner":{"name":"x"},"tags":["a","b"],"inners":[{"name":"y"}],"extra":{"ignored":[1,2]}}"#,
        );
        assert_eq!(m.id.as_deref(), Some("7"));
        assert_eq!(m.count, Some(2.5));
        assert_eq!(m.n, Some(3));
        assert_eq!(m.flag, Some(true));
        assert_eq!(m.inner.and_then(|i| i.name).as_deref(), Some("x"));
        assert_eq!(m.tags, Some(vec!["a".into(), "b".into()]));
        assert_eq!(m.inners.map(|v| v.len()), Some(1));
    }

    #[test]
    fn surprising_values_are_coerced_or_skipped() {
        let m = parse(
            r#"{"id":7,"count":"12.5","n":"4","flag":"Y","inner":"oops","tags":["a",1,{"x":1},null],"inners":[{"name":2},"bad",[1]]}"#,
        );
        assert_eq!(m.id.as_deref(), Some("7"));
        assert_eq!(m.count, Some(12.5));
        assert_eq!(m.n, Some(4));
        assert_eq!(m.flag, Some(true));
        assert_eq!(m.inner, None);
        assert_eq!(m.tags, Some(vec!["a".into(), "1".into()]));
        assert_eq!(
            m.inners,
            Some(vec![Inner {
                name: Some("2".into())
            }])
        );
    }

    #[test]
    fn wrong_kinds_become_none() {
        let m = parse(
            r#"{"id":{"a":1},"count":"n/a","n":1.5,"flag":"maybe","tags":"a,b","inners":{"name":"x"}}"#,
        );
        assert_eq!(m, Record::default());
        let m = parse(r#"{"id":null,"count":null,"n":1e300,"flag":2}"#);
        assert_eq!(m, Record::default());
    }

    #[test]
    fn enums_keep_text() {
        #[derive(Debug, PartialEq)]
        struct E(String);
        impl From<String> for E {
            fn from(s: String) -> Self {
                E(s)
            }
        }
        let mut d = serde_json::Deserializer::from_str("42");
        assert_eq!(deserialize_enum::<_, E>(&mut d).unwrap(), E("42".into()));
        let mut d = serde_json::Deserializer::from_str("[1]");
        assert!(deserialize_enum::<_, E>(&mut d).is_err());
    }

    #[test]
    fn keys_match_however_they_are_written_and_the_last_of_a_repeated_key_wins() {
        // An escaped key, a repeated key, and keys the model does not know (with values of
        // every kind) around the ones it knows.
        let m = parse(
            r#"{"\u0069d":"escaped","x":[{"id":"nested"}],"n":1,"n":2,"y":{"id":"no"},"z":null}"#,
        );
        assert_eq!(m.id.as_deref(), Some("escaped"));
        assert_eq!(m.n, Some(2));
        assert_eq!(m.inner, None);
        // Keys read from a stream (not borrowed from the input) match too.
        let m: Record =
            serde_json::from_reader(&br#"{"id":"from a reader","flag":1}"#[..]).unwrap();
        assert_eq!(m.id.as_deref(), Some("from a reader"));
        assert_eq!(m.flag, Some(true));
        // So do keys from a `serde_json::Value`.
        let m: Record = serde_json::from_value(serde_json::json!({"tags": ["v"]})).unwrap();
        assert_eq!(m.tags, Some(vec!["v".to_owned()]));
        assert_eq!(parse("{}"), Record::default());
    }

    #[test]
    fn a_model_that_is_not_an_object_is_an_error_naming_the_schema_at_the_top_and_none_inside() {
        for json in ["[1, 2]", "null", "\"text\"", "3"] {
            let error = serde_json::from_str::<Record>(json)
                .unwrap_err()
                .to_string();
            assert!(error.contains("`Record` schema"), "{json}: {error}");
        }
        let mut d = serde_json::Deserializer::from_str(r#"[{"id":"a"},[],"b",null,{"n":"x"}]"#);
        let list: Option<Vec<Record>> = lenient_vec(&mut d).unwrap();
        let ids: Vec<_> = list.unwrap().into_iter().map(|r| (r.id, r.n)).collect();
        assert_eq!(ids, vec![(Some("a".to_owned()), None), (None, None)]);
        // A document that is not JSON still fails, inside a field too.
        assert!(serde_json::from_str::<Record>(r#"{"inner":{"name":"#).is_err());
        assert!(serde_json::from_str::<Record>(r#"{"id" "x"}"#).is_err());
    }

    #[test]
    fn decode_errors_inside_a_model_name_the_json_path() {
        let context = crate::error::RequestContext::new(http::Method::GET, "/records/{id}");
        let error = crate::response::decode_json::<Vec<Record>>(
            &context,
            http::StatusCode::OK,
            &http::HeaderMap::new(),
            br#"[{"id":"a"},{"inners":[{"name":"ok"},{"name":tru}]}]"#,
            None,
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("[1].inners[1].name"), "{text}");
    }

    /// Decodes through the SDK's decode path, as every operation does.
    fn sdk<T: serde::de::DeserializeOwned>(json: &str) -> T {
        let context = crate::error::RequestContext::new(http::Method::GET, "/records");
        crate::response::decode_json(
            &context,
            http::StatusCode::OK,
            &http::HeaderMap::new(),
            json.as_bytes(),
            None,
        )
        .unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn numbers_in_text_fields_keep_their_exact_text() {
        let m: Record = sdk(r#"{
            "id": 123456789012345678901234567890,
            "tags": [-123456789012345678901234567890, 18446744073709551616, -9223372036854775809,
                     1.50, 1e3, 2.5E-3, 0.1000000000000000055511151231257827, 7, "x"],
            "inner": {"name": -99999999999999999999999},
            "inners": [{"name": 4.50}, {"name": 12}]
        }"#);
        assert_eq!(m.id.as_deref(), Some("123456789012345678901234567890"));
        assert_eq!(
            m.tags.unwrap(),
            [
                "-123456789012345678901234567890",
                "18446744073709551616",
                "-9223372036854775809",
                "1.50",
                "1e3",
                "2.5E-3",
                "0.1000000000000000055511151231257827",
                "7",
                "x"
            ]
        );
        assert_eq!(
            m.inner.and_then(|i| i.name).as_deref(),
            Some("-99999999999999999999999")
        );
        let names: Vec<_> = m.inners.unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(names, [Some("4.50".to_owned()), Some("12".to_owned())]);
        // In a list of models, and when only one item has such a number.
        let list: Vec<Record> = sdk(r#"[{"id":"a","n":1},{"id":98765432109876543210987654321}]"#);
        assert_eq!(list[0].id.as_deref(), Some("a"));
        assert_eq!(list[0].n, Some(1));
        assert_eq!(list[1].id.as_deref(), Some("98765432109876543210987654321"));
        // An enum keeps the text too.
        #[derive(Debug, PartialEq)]
        struct E(String);
        impl From<String> for E {
            fn from(s: String) -> Self {
                E(s)
            }
        }
        impl<'de> serde::Deserialize<'de> for E {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize_enum(d)
            }
        }
        let e: Vec<E> = sdk("[123456789012345678901234567890, 2.50, \"Z\"]");
        assert_eq!(
            e,
            [
                E("123456789012345678901234567890".into()),
                E("2.50".into()),
                E("Z".into())
            ]
        );
    }

    #[test]
    fn integer_fields_get_the_integer_written_or_none() {
        let n = |json: &str| sdk::<Record>(&format!(r#"{{"n":{json}}}"#)).n;
        assert_eq!(n("9223372036854775807"), Some(i64::MAX));
        assert_eq!(n("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(n("-9223372036854775809"), None);
        assert_eq!(n("9223372036854775808"), None);
        assert_eq!(n("123456789012345678901234567890"), None);
        assert_eq!(n("-123456789012345678901234567890"), None);
        assert_eq!(n("4.0"), Some(4));
        assert_eq!(n("12500e-2"), Some(125));
        assert_eq!(n("1e18"), Some(1_000_000_000_000_000_000));
        assert_eq!(n("9007199254740993.0"), Some(9_007_199_254_740_993));
        assert_eq!(n("1.00000000000000001"), None);
        assert_eq!(n("1.5"), None);
        assert_eq!(n("1e19"), None);
        assert_eq!(n("\"-9223372036854775809\""), None);
        assert_eq!(n("\"1e3\""), Some(1000));
        assert_eq!(n("\" 42 \""), Some(42));
        // Number fields get the nearest float, also for integers beyond 64 bits.
        let count = |json: &str| sdk::<Record>(&format!(r#"{{"count":{json}}}"#)).count;
        assert_eq!(
            count("123456789012345678901234567890"),
            Some(1.2345678901234568e29)
        );
        assert_eq!(
            count("-18446744073709551617"),
            Some(-18446744073709551617.0)
        );
        assert_eq!(count("1e-400"), Some(0.0));
    }

    #[test]
    fn integer_text_is_read_exactly() {
        for (text, expected) in [
            ("0", Some(0)),
            ("-0", Some(0)),
            ("0.000e5", Some(0)),
            ("+17", Some(17)),
            ("1.2345e4", Some(12345)),
            ("1.2345e3", None),
            ("00012", Some(12)),
            ("120e-1", Some(12)),
            ("1e-1", None),
            ("5e99999999999999999999", None),
            ("0e99999999999999999999", Some(0)),
            ("9.223372036854775807e18", Some(i64::MAX)),
            ("-9.223372036854775808e18", Some(i64::MIN)),
            ("9.223372036854775808e18", None),
            ("", None),
            ("-", None),
            (".", None),
            ("1e", None),
            ("1x", None),
            ("inf", None),
            ("NaN", None),
            ("1_000", None),
        ] {
            assert_eq!(integer_from_text(text), expected, "{text:?}");
        }
    }

    #[test]
    fn floats_decode_to_the_nearest_double_of_their_text() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut json = String::from("[");
        let mut texts = Vec::new();
        for i in 0..5_000 {
            // 16 to 17 significant digits, any exponent a double can hold.
            let digits: String = (0..rng.usize(16..=17))
                .map(|_| char::from(b'0' + rng.u8(0..10)))
                .collect();
            let text = format!("{}.{}e{}", rng.u8(1..10), digits, rng.i32(-300..300));
            if i > 0 {
                json.push(',');
            }
            json.push_str(&format!(r#"{{"count":{text}}}"#));
            texts.push(text);
        }
        json.push(']');
        let records: Vec<Record> = sdk(&json);
        for (record, text) in records.iter().zip(&texts) {
            let nearest: f64 = text.parse().unwrap();
            assert_eq!(record.count, Some(nearest), "{text}");
        }
    }

    #[test]
    fn numbers_beyond_f64_make_their_field_none_and_fail_nothing() {
        let huge = "9".repeat(400);
        let m: Record = sdk(&format!(
            r#"{{"id":1e400,"count":-1e400,"n":1E+400,"flag":1e400,"inner":1e400,
                "tags":[1e400,"a",{huge},-{huge}],"inners":[{{"name":1e400}},{{"name":"b"}}],
                "extra":{{"keep":1,"big":1e400,"deep":[2e308,"x"]}},
                "unknown":1e400,"unknown2":{{"deep":[-1e400,{huge}]}}}}"#
        ));
        assert_eq!(m.id, None);
        assert_eq!(m.count, None);
        assert_eq!(m.n, None);
        assert_eq!(m.flag, None);
        assert_eq!(m.inner, None);
        assert_eq!(m.tags, Some(vec!["a".to_owned()]));
        assert_eq!(
            m.inners,
            Some(vec![
                Inner { name: None },
                Inner {
                    name: Some("b".into())
                }
            ])
        );
        assert_eq!(
            serde_json::Value::Object(m.extra.unwrap()),
            serde_json::json!({"keep": 1, "big": null, "deep": [null, "x"]})
        );
        // Only in fields the model does not know: ignored.
        let m: Record = sdk(r#"{"x":1e400,"id":"a","y":[-1e400,{"z":2e308}],"n":3}"#);
        assert_eq!((m.id.as_deref(), m.n), (Some("a"), Some(3)));
        // In a list of models, the other items and fields are untouched.
        let list: Vec<Record> = sdk(r#"[{"id":"a","count":1e400},{"id":"b","count":2.5}]"#);
        let got: Vec<_> = list.iter().map(|r| (r.id.as_deref(), r.count)).collect();
        assert_eq!(got, [(Some("a"), None), (Some("b"), Some(2.5))]);
        // With a text field that also needs its exact text.
        let m: Record = sdk(r#"{"id":123456789012345678901234567890,"count":1e400}"#);
        assert_eq!(m.id.as_deref(), Some("123456789012345678901234567890"));
        assert_eq!(m.count, None);
    }

    #[test]
    fn a_body_that_is_still_wrong_reports_its_own_error() {
        let context = crate::error::RequestContext::new(http::Method::GET, "/records");
        let error = crate::response::decode_json::<Vec<Record>>(
            &context,
            http::StatusCode::OK,
            &http::HeaderMap::new(),
            br#"[{"count":1e400},{"inners":[{"name":tru}]}]"#,
            None,
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("at `[1].inners[0].name`"), "{text}");
        // The mode is per decode: a model decoded directly afterwards reads as usual.
        let m: Record = serde_json::from_str(r#"{"id":"x","n":2}"#).unwrap();
        assert_eq!((m.id.as_deref(), m.n), (Some("x"), Some(2)));
    }
}
