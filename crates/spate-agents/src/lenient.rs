//! Tolerant decoding: transcript fields whose shape varies between Claude Code versions
//! (`toolUseResult` is an object, a string or an array; `message.content` a string or an array
//! of blocks) decode to `None`/empty instead of failing the whole line.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// An object decoded as `T`, or `None` when the value is not an object.
#[derive(Debug)]
pub(crate) struct Lenient<T>(pub Option<T>);

/// A list of objects decoded as `T`, skipping elements that are not objects or that
/// [`Keep::keep`] rejects (so that lists of uninteresting objects allocate nothing); a
/// non-list value decodes as empty.
#[derive(Debug)]
pub(crate) struct LenientSeq<T>(pub Vec<T>);

/// Which decoded list elements to keep.
pub(crate) trait Keep {
    fn keep(&self) -> bool {
        true
    }
}

struct LenientVisitor<T>(PhantomData<T>);

macro_rules! ignore_scalars {
    ($out:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($out)
        }
    };
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    ignore_scalars!(Lenient(None));

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Lenient(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Lenient(Some(t)))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData))
    }
}

struct SeqVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de> + Keep> Visitor<'de> for SeqVisitor<T> {
    type Value = LenientSeq<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    ignore_scalars!(LenientSeq(Vec::new()));

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<Lenient<T>>()? {
            if let Some(v) = item.0.filter(Keep::keep) {
                out.push(v);
            }
        }
        Ok(LenientSeq(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(LenientSeq(Vec::new()))
    }
}

impl<'de, T: Deserialize<'de> + Keep> Deserialize<'de> for LenientSeq<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SeqVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct P {
        a: Option<u32>,
    }

    impl Keep for P {}

    #[test]
    fn lenient_accepts_any_shape() {
        for (src, want) in [
            (r#"{"a":3,"b":[1,{"c":2}]}"#, Some(P { a: Some(3) })),
            (r#""text""#, None),
            ("[1,2]", None),
            ("null", None),
            ("12.5", None),
            ("true", None),
        ] {
            let got: Lenient<P> = serde_json::from_str(src).unwrap();
            assert_eq!(got.0, want, "{src}");
        }
        assert!(serde_json::from_str::<Lenient<P>>(r#"{"a":"x"}"#).is_err());
    }

    #[test]
    fn lenient_seq_keeps_objects_only() {
        let got: LenientSeq<P> = serde_json::from_str(r#"[{"a":1},"s",2,{"a":null},[3]]"#).unwrap();
        assert_eq!(got.0, vec![P { a: Some(1) }, P { a: None }]);
        let got: LenientSeq<P> = serde_json::from_str(r#""plain text""#).unwrap();
        assert!(got.0.is_empty());
        let got: LenientSeq<P> = serde_json::from_str(r#"{"a":1}"#).unwrap();
        assert!(got.0.is_empty());
    }
}
