//! The envelope: what every event on the bus looks like, whatever its payload.
//!
//! [`Event`] is the domain view (a UUIDv7 id, the payload's type name, when it happened, the
//! aggregate key, the W3C trace context, who produced it, the encoded payload); it converts to
//! and from the `floodgate.eventbus.v1.Envelope` wire message with precise errors, because a
//! consumer must tell a malformed message from a merely unknown one.

use chrono::{DateTime, Utc};
use floodgate_proto::{EventPayload, eventbus::v1 as wire};
use floodgate_telemetry::propagation::TraceHeaders;
use prost::Message as _;
use uuid::Uuid;

/// One event, as produced and consumed.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    /// Aggregate id; also the Kafka message key, so one aggregate's events stay in order.
    pub key: String,
    pub trace: TraceHeaders,
    pub producer: String,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the message is not a protobuf envelope")]
    Undecodable(#[source] prost::DecodeError),
    #[error("the envelope has no {0}")]
    Missing(&'static str),
    #[error("the envelope's event id {0:?} is not a UUID")]
    BadId(String),
    #[error("the envelope's timestamp is out of range")]
    BadTime,
    #[error("expected a {expected} payload, the envelope carries {actual}")]
    WrongType { expected: &'static str, actual: String },
    #[error("the {event_type} payload does not decode")]
    BadPayload {
        event_type: String,
        #[source]
        source: prost::DecodeError,
    },
}

impl Event {
    /// A new event about aggregate `key`, carrying the current span's trace context.
    pub fn new<P: EventPayload>(producer: &str, key: impl Into<String>, payload: &P, now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type: P::EVENT_TYPE.to_owned(),
            occurred_at: now,
            key: key.into(),
            trace: TraceHeaders::current(),
            producer: producer.to_owned(),
            payload: payload.encode_to_vec(),
        }
    }

    /// Whether the payload is a `P`.
    pub fn is<P: EventPayload>(&self) -> bool {
        self.event_type == P::EVENT_TYPE
    }

    /// Decodes the payload as `P`, checking the type name first.
    pub fn payload<P: EventPayload>(&self) -> Result<P, EnvelopeError> {
        if !self.is::<P>() {
            return Err(EnvelopeError::WrongType { expected: P::EVENT_TYPE, actual: self.event_type.clone() });
        }
        P::decode(self.payload.as_slice())
            .map_err(|source| EnvelopeError::BadPayload { event_type: self.event_type.clone(), source })
    }

    /// The wire bytes (the Kafka message value).
    pub fn encode(&self) -> Vec<u8> {
        wire::Envelope::from(self).encode_to_vec()
    }

    /// Parses wire bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        wire::Envelope::decode(bytes).map_err(EnvelopeError::Undecodable)?.try_into()
    }
}

impl From<&Event> for wire::Envelope {
    fn from(event: &Event) -> Self {
        Self {
            event_id: event.id.to_string(),
            event_type: event.event_type.clone(),
            occurred_at: Some(prost_types::Timestamp {
                seconds: event.occurred_at.timestamp(),
                // Always < 1e9 for a valid DateTime; a leap second clamps.
                nanos: event.occurred_at.timestamp_subsec_nanos().min(999_999_999) as i32,
            }),
            key: event.key.clone(),
            traceparent: event.trace.traceparent.clone(),
            tracestate: event.trace.tracestate.clone(),
            producer: event.producer.clone(),
            payload: event.payload.clone(),
        }
    }
}

impl TryFrom<wire::Envelope> for Event {
    type Error = EnvelopeError;

    fn try_from(envelope: wire::Envelope) -> Result<Self, Self::Error> {
        if envelope.event_id.is_empty() {
            return Err(EnvelopeError::Missing("event id"));
        }
        let id = Uuid::parse_str(&envelope.event_id).map_err(|_| EnvelopeError::BadId(envelope.event_id.clone()))?;
        if envelope.event_type.is_empty() {
            return Err(EnvelopeError::Missing("event type"));
        }
        let time = envelope.occurred_at.ok_or(EnvelopeError::Missing("timestamp"))?;
        let nanos = u32::try_from(time.nanos).map_err(|_| EnvelopeError::BadTime)?;
        let occurred_at = DateTime::from_timestamp(time.seconds, nanos).ok_or(EnvelopeError::BadTime)?;
        Ok(Self {
            id,
            event_type: envelope.event_type,
            occurred_at,
            key: envelope.key,
            trace: TraceHeaders { traceparent: envelope.traceparent, tracestate: envelope.tracestate },
            producer: envelope.producer,
            payload: envelope.payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use floodgate_proto::{booking::v1::OrderPlaced, catalog::v1::PerformanceCancelled, types::v1::Money};
    use proptest::prelude::*;

    use super::*;

    fn order_placed() -> OrderPlaced {
        OrderPlaced {
            order_id: "0192f5d2-0000-7000-8000-000000000001".into(),
            order_number: "FG-7K3M-9Q2D".into(),
            total: Some(Money { minor: 15_000, currency: "KRW".into() }),
            ..Default::default()
        }
    }

    #[test]
    fn round_trips_through_the_wire_format() {
        let now = DateTime::from_timestamp(1_795_000_000, 123_456_789).expect("valid time");
        let event = Event::new("booking", "order-1", &order_placed(), now);
        let back = Event::decode(&event.encode()).expect("decodes");
        assert_eq!(back, event);
        assert_eq!(back.payload::<OrderPlaced>().expect("payload"), order_placed());
    }

    #[test]
    fn ids_are_time_ordered_uuid_v7() {
        let now = Utc::now();
        let a = Event::new("booking", "k", &order_placed(), now);
        let b = Event::new("booking", "k", &order_placed(), now);
        assert_eq!(a.id.get_version_num(), 7);
        assert!(a.id < b.id, "a later event sorts after an earlier one");
    }

    #[test]
    fn a_payload_of_another_type_is_refused_by_name() {
        let event = Event::new("booking", "k", &order_placed(), Utc::now());
        let err = event.payload::<PerformanceCancelled>().expect_err("must be rejected");
        assert_eq!(
            err,
            EnvelopeError::WrongType {
                expected: "floodgate.catalog.v1.PerformanceCancelled",
                actual: "floodgate.booking.v1.OrderPlaced".into()
            }
        );
    }

    #[test]
    fn malformed_envelopes_name_what_is_wrong() {
        let valid = wire::Envelope::from(&Event::new("booking", "k", &order_placed(), Utc::now()));

        let no_id = wire::Envelope { event_id: String::new(), ..valid.clone() };
        assert_eq!(Event::try_from(no_id), Err(EnvelopeError::Missing("event id")));

        let bad_id = wire::Envelope { event_id: "order-1".into(), ..valid.clone() };
        assert_eq!(Event::try_from(bad_id), Err(EnvelopeError::BadId("order-1".into())));

        let no_time = wire::Envelope { occurred_at: None, ..valid.clone() };
        assert_eq!(Event::try_from(no_time), Err(EnvelopeError::Missing("timestamp")));

        let bad_nanos = wire::Envelope { occurred_at: Some(prost_types::Timestamp { seconds: 0, nanos: -1 }), ..valid };
        assert_eq!(Event::try_from(bad_nanos), Err(EnvelopeError::BadTime));

        assert!(matches!(Event::decode(&[0xff, 0xff, 0xff]), Err(EnvelopeError::Undecodable(_))));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Event::decode(&bytes);
        }

        #[test]
        fn any_valid_event_round_trips(key in ".{0,40}", producer in "[a-z]{1,10}", secs in 0i64..4_000_000_000, nanos in 0u32..1_000_000_000) {
            let now = DateTime::from_timestamp(secs, nanos).expect("in range");
            let event = Event::new(&producer, key, &order_placed(), now);
            prop_assert_eq!(Event::decode(&event.encode()).expect("decodes"), event);
        }
    }
}
