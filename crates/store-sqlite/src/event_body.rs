//! Decoding a format-4 event body without serde's buffering.
//!
//! `Event` is internally tagged (`"type"` inside the object), and serde's
//! derive for that reads every payload into its generic `Content` tree first
//! (allocating each string and number), then deserializes the variant from
//! the tree: a quarter of the decoding CPU of a rebuild. A format-4 row keeps
//! the variant's name in its `type` column and the body without the tag, so
//! the variant is known before the body is read: [`decode`] hands serde the
//! name as an enum tag and the body's JSON as the variant's fields, and
//! [`EventBody`] (serde's `remote` derive: a mirror of [`Event`] whose
//! generated code builds `Event`s) deserializes them straight from the bytes.
//!
//! The mirror cannot drift: it is declared from the same list of variants
//! as `Event` (`kinship_domain::event_variants!`), field attributes included;
//! the test `the_mirror_reads_what_event_writes` still compares both on every
//! variant.

use jiff::civil::Date;
use kinship_domain::event::{Custodian, EncounterRef, FamilyLink, RecordDetails, Subject};
use kinship_domain::family::{Establishment, FamilyKind, ReviewDecision, Role};
use kinship_domain::link::{LinkKind, Relation};
use kinship_domain::person::{Citizenship, Identity, SourceRef};
use kinship_domain::time::Instant;
use kinship_domain::{Event, FamilyId, FindingId, LinkId, PersonId, SeparationId};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use uuid::Uuid;

// Named by the list's `skip_serializing_if`; only the tests serialize the mirror.
#[cfg(test)]
fn is_false(b: &bool) -> bool {
    !*b
}

/// Declares the mirror from [`kinship_domain::event_variants!`]'s list, the
/// one [`Event`] is declared from.
macro_rules! declare_event_body {
    ($( $(#[$vm:meta])* $variant:ident { $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)? } ),* $(,)?) => {
        // `serialize` only for the test that compares the mirror's JSON with `Event`'s.
        #[cfg_attr(test, derive(serde::Serialize))]
        #[derive(Deserialize)]
        #[serde(remote = "Event")]
        pub enum EventBody {
            $( $(#[$vm])* $variant { $( $(#[$fm])* $field: $ty ),* } ),*
        }
    };
}

kinship_domain::event_variants!(declare_event_body);

/// The event named `event_type` (a row's `type` column) from its body's
/// JSON without the `"type"` member, as format 4 stores it.
pub fn decode(event_type: &str, body: &[u8]) -> Result<Event, serde_json::Error> {
    let mut json = serde_json::Deserializer::from_slice(body);
    let event = EventBody::deserialize(Tagged { name: event_type, body: &mut json })?;
    json.end()?;
    Ok(event)
}

/// An enum whose tag is `name` and whose variant's fields are `body`'s.
struct Tagged<'a, 'de> {
    name: &'a str,
    body: &'a mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>,
}

fn not_an_enum() -> serde_json::Error {
    de::Error::custom("an event body is read only as its event type's fields")
}

impl<'de> de::Deserializer<'de> for Tagged<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(not_an_enum())
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

impl<'de> de::EnumAccess<'de> for Tagged<'_, 'de> {
    type Error = serde_json::Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Self::Error> {
        let name: de::value::StrDeserializer<'_, serde_json::Error> = self.name.into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for Tagged<'_, 'de> {
    type Error = serde_json::Error;

    fn unit_variant(self) -> Result<(), Self::Error> {
        // Every event has fields: a body naming none is `{}` for a struct variant.
        Err(not_an_enum())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Self::Error> {
        seed.deserialize(&mut *self.body)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Self::Error> {
        de::Deserializer::deserialize_tuple(&mut *self.body, len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Self::Error> {
        de::Deserializer::deserialize_struct(&mut *self.body, "", fields, visitor)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use kinship_domain::ANumber;
    use kinship_domain::family::Classification;
    use kinship_domain::name::PersonName;
    use kinship_domain::person::{BirthDate, Sex};

    fn at(t: &str) -> Instant {
        Instant::parse(t, None).unwrap()
    }

    /// One event of every variant, each with its optional fields both set
    /// and (in a second copy where it has any) left out.
    fn every_variant() -> Vec<Event> {
        let (p, q) = (PersonId::new_v7(), PersonId::new_v7());
        let (f, l, fi, sep) = (FamilyId::new_v7(), LinkId::new_v7(), FindingId::new_v7(), SeparationId::new_v7());
        let t = at("2018-05-07T14:32:00-06:00");
        let identity = Identity {
            name: PersonName::parse("JOSÉ \"PEPE\"", "DE LA CRUZ").unwrap(),
            birth: Some(BirthDate { date: jiff::civil::date(2012, 1, 1), estimated: true }),
            sex: Some(Sex::M),
            citizenship: Citizenship::parse("HND"),
            a_number: Some(ANumber::parse("A123456789").unwrap()),
        };
        let bare = Identity { name: PersonName { given: None, family: None }, birth: None, sex: None, citizenship: None, a_number: None };
        let record = SourceRef { source: "BP".into(), record_id: "R\n1".into() };
        let encounter = EncounterRef { key: "BP:EV-1".into(), at: t.clone(), sector: Some("RGV".into()), station: None };
        let details = RecordDetails {
            classification: Some(Classification::FamilyUnitMember),
            us_address: None,
            notes: Some("a \"b\" \\ 😀".into()),
            extra: vec![("extra.x".into(), "y".into())],
        };
        let u = Uuid::now_v7();
        let by = || "agent".to_string();
        vec![
            Event::PersonRecorded {
                person: p,
                identity: identity.clone(),
                record: record.clone(),
                encounter: encounter.clone(),
                details: details.clone(),
                custody: Some(Custodian { agency: "BP".into(), facility: Some("MCS".into()) }),
                family: Some(FamilyLink { family: f, role: Role::Son }),
            },
            Event::PersonRecorded {
                person: p,
                identity: bare.clone(),
                record: record.clone(),
                encounter: encounter.clone(),
                details: RecordDetails::default(),
                custody: None,
                family: None,
            },
            Event::RecordAttached {
                person: p,
                identity: identity.clone(),
                record: record.clone(),
                encounter: encounter.clone(),
                details: details.clone(),
            },
            Event::RecordCorrected {
                person: p,
                record: record.clone(),
                corrects: u,
                reason: "typo".into(),
                identity: bare.clone(),
                encounter: encounter.clone(),
                details: details.clone(),
                changed: vec!["name".into()],
                person_identity: identity.clone(),
            },
            Event::BookedIn { person: p, agency: "BP".into(), facility: None, at: t.clone() },
            Event::TransferOffered {
                person: p,
                from_agency: "BP".into(),
                to_agency: "ORR".into(),
                to_facility: Some("X".into()),
                at: t.clone(),
                by: by(),
            },
            Event::TransferAccepted { person: p, agency: "ORR".into(), facility: None, at: t.clone(), by: by() },
            Event::TransferRejected { person: p, agency: "ORR".into(), reason: "full".into(), at: t.clone(), by: by() },
            Event::Released { person: p, at: t.clone(), us_address: Some("1 Main St".into()), conditions: None, by: by() },
            Event::Removed { person: p, at: t.clone(), to_country: Citizenship::parse("GTM"), by: by() },
            Event::JoinedFamily { person: p, family: f, role: Role::Mother },
            Event::LeftFamily { person: p, family: f },
            Event::ReferredForProsecution { person: p, at: t.clone(), by: by() },
            Event::AgedOut { person: p, on: jiff::civil::date(2030, 1, 1), family: Some(f) },
            Event::FamilyFormed { family: f, kind: FamilyKind::Unit, formed_at: t.clone(), source_family: Some(record.clone()), by: by() },
            Event::MemberAdded { family: f, person: p, role: Role::Father, established: Establishment::Claimed, by: by(), lead: true },
            Event::MemberAdded { family: f, person: q, role: Role::Son, established: Establishment::Documented, by: by(), lead: false },
            Event::MembershipCorrected {
                family: f,
                person: p,
                corrects: u,
                role: Role::Mother,
                previous: Role::Father,
                reason: "r".into(),
                by: by(),
            },
            Event::MembershipWithdrawn { family: f, person: p, corrects: u, role: Role::Mother, reason: "r".into(), by: by() },
            Event::LeadDesignated { family: f, person: q, by: by() },
            Event::SeparationRecorded {
                family: f,
                separation: sep,
                members: vec![p, q],
                reason_code: "PROSECUTION".into(),
                policy: None,
                narrative: "n".into(),
                approved_by: "sup".into(),
                recorded_by: by(),
                at: t.clone(),
            },
            Event::SeparationReviewed {
                family: f,
                separation: sep,
                level: 2,
                decision: ReviewDecision::Return,
                note: Some("why".into()),
                by: by(),
                at: t.clone(),
            },
            Event::SeparationCorrected {
                family: f,
                separation: sep,
                corrects: u,
                reason_code: "SAFETY".into(),
                policy: Some("P".into()),
                narrative: "n2".into(),
                reason: "r".into(),
                by: by(),
                at: t.clone(),
            },
            Event::MembersReunified { family: f, members: vec![q], location: "El Paso".into(), by: by(), at: t.clone() },
            Event::FindingRaised {
                finding: fi,
                kind: "duplicate".into(),
                subjects: vec![Subject::Person(p), Subject::Family(f)],
                message: "m".into(),
                record: Some(record.clone()),
            },
            Event::FindingResolved { finding: fi, resolution: "ok".into(), by: by() },
            Event::LinkProposed {
                link: l,
                kind: LinkKind::Family,
                a: p,
                b: q,
                relation: Some(Relation::ParentChild),
                score: 912,
                evidence: vec!["same surname".into()],
                by: by(),
            },
            Event::LinkConfirmed { link: l, family: Some(f), note: None, by: by() },
            Event::LinkRejected { link: l, reason: "no".into(), by: by() },
            Event::IdentityLinked { link: l, a: p, b: q, automatic: true, by: by() },
            Event::IdentityUnlinked { link: l, reason: "no".into(), by: by() },
            Event::LinkageRan { run: l, through: u64::MAX, records: 3, proposed: 1 },
        ]
    }

    /// The body as format 4 stores it: `Event`'s own JSON without the tag.
    fn untagged(e: &Event) -> (String, Vec<u8>) {
        let mut v = serde_json::to_value(e).unwrap();
        let tag = v.as_object_mut().unwrap().remove("type").unwrap();
        (tag.as_str().unwrap().to_string(), serde_json::to_vec(&v).unwrap())
    }

    #[test]
    fn the_mirror_reads_what_event_writes() {
        let events = every_variant();
        let mut names: Vec<&str> = events.iter().map(Event::type_name).collect();
        names.dedup();
        assert_eq!(names.len(), 30, "one of every variant: {names:?}");
        for e in &events {
            let (tag, body) = untagged(e);
            assert_eq!(tag, e.type_name());
            assert_eq!(&decode(&tag, &body).unwrap(), e, "{tag}");
            // The mirror writes what `Event` writes (its attributes match).
            let mut mirrored = Vec::new();
            EventBody::serialize(e, &mut serde_json::Serializer::new(&mut mirrored)).unwrap();
            let mirrored: serde_json::Value = serde_json::from_slice(&mirrored).unwrap();
            assert_eq!(mirrored, serde_json::json!({ tag.clone(): serde_json::from_slice::<serde_json::Value>(&body).unwrap() }), "{tag}");
        }
    }

    #[test]
    fn fields_written_before_they_existed_take_their_defaults() {
        let p = PersonId::new_v7();
        let e = Event::MemberAdded {
            family: FamilyId::new_v7(),
            person: p,
            role: Role::Son,
            established: Establishment::Claimed,
            by: "a".into(),
            lead: false,
        };
        let (tag, body) = untagged(&e);
        assert!(!String::from_utf8_lossy(&body).contains("lead"));
        assert_eq!(decode(&tag, &body).unwrap(), e);
        // Field order does not matter, unknown fields are ignored, as for `Event`.
        let mut v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        v.as_object_mut().unwrap().insert("added_later".into(), serde_json::json!({"x": [1, 2]}));
        assert_eq!(decode(&tag, &serde_json::to_vec(&v).unwrap()).unwrap(), e);
    }

    #[test]
    fn a_wrong_type_or_body_is_an_error_naming_it() {
        let e = &every_variant()[4];
        let (_, body) = untagged(e);
        let err = decode("NoSuchEvent", &body).unwrap_err().to_string();
        assert!(err.contains("NoSuchEvent"), "{err}");
        let err = decode("FamilyFormed", &body).unwrap_err().to_string();
        assert!(err.contains("missing field"), "{err}");
        assert!(decode("BookedIn", b"{\"person\":").is_err());
        assert!(decode("BookedIn", &[&body[..], b" {}"].concat()).is_err(), "trailing bytes");
    }
}
