//! Generated code for every Floodgate contract in `proto/`: gRPC clients and servers for the five
//! services and the event payloads. This is the only crate services share types through; domain
//! types stay in the service that owns them and convert at the gRPC edge.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// The encoded `FileDescriptorSet` of all contracts, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/floodgate_descriptor.bin"));

pub mod types {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/floodgate.types.v1.rs"));
    }
}

pub mod eventbus {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/floodgate.eventbus.v1.rs"));
    }
}

pub mod catalog {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/floodgate.catalog.v1.rs"));
    }
}

pub mod queue {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/floodgate.queue.v1.rs"));
    }
}

pub mod booking {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/floodgate.booking.v1.rs"));
    }
}

pub mod payment {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/floodgate.payment.v1.rs"));
    }
}

/// Fully qualified protobuf name of an event payload, as carried in the envelope's `event_type`.
///
/// Implemented for every event message so producers never spell type names by hand.
pub trait EventPayload: prost::Message + Default {
    const EVENT_TYPE: &'static str;
}

impl types::v1::Buyer {
    /// The buyer's identity across services — the waiting room's buyer, the admission token's
    /// subject, the key of per-buyer limits: `user:<user_id>` or `guest:<guest_id>`.
    pub fn key(&self) -> Option<String> {
        match self.kind.as_ref()? {
            types::v1::buyer::Kind::UserId(id) => Some(format!("user:{id}")),
            types::v1::buyer::Kind::Guest(guest) => Some(format!("guest:{}", guest.guest_id)),
        }
    }
}

macro_rules! event_payloads {
    ($($package:literal => $module:ident { $($name:ident),* $(,)? })*) => {
        $($(
            impl EventPayload for $module::v1::$name {
                const EVENT_TYPE: &'static str = concat!($package, ".", stringify!($name));
            }
        )*)*
    };
}

event_payloads! {
    "floodgate.catalog.v1" => catalog {
        PerformancePublished, SaleConfigChanged, PricesChanged, PerformanceCancelled,
    }
    "floodgate.queue.v1" => queue {
        RoomStateChanged, SeedCommitted, SeedRevealed, BuyerAdmitted, RoomStatsSnapshot,
    }
    "floodgate.booking.v1" => booking {
        InventoryReady, SeatsHeld, SeatsReleased, HoldExpired, OrderPlaced, OrderConfirmed,
        OrderRejected, OrderExpired, OrderCancelled, AvailabilityChanged, SoldOut,
    }
    "floodgate.payment.v1" => payment {
        PaymentApproved, PaymentFailed, PaymentRefunded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn event_type_is_the_fully_qualified_message_name() {
        assert_eq!(catalog::v1::PerformancePublished::EVENT_TYPE, "floodgate.catalog.v1.PerformancePublished");
        assert_eq!(payment::v1::PaymentApproved::EVENT_TYPE, "floodgate.payment.v1.PaymentApproved");
    }

    #[test]
    fn every_event_type_names_a_message_in_the_descriptor_set() {
        let fds = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
        let names: std::collections::HashSet<String> = fds
            .file
            .iter()
            .flat_map(|f| f.message_type.iter().map(move |m| format!("{}.{}", f.package(), m.name())))
            .collect();
        for event_type in [
            booking::v1::OrderPlaced::EVENT_TYPE,
            queue::v1::SeedRevealed::EVENT_TYPE,
            catalog::v1::PerformanceCancelled::EVENT_TYPE,
        ] {
            assert!(names.contains(event_type), "{event_type} missing from descriptors");
        }
    }

    #[test]
    fn buyers_are_keyed_by_kind_and_id() {
        use types::v1::{Buyer, GuestIdentity, buyer::Kind};
        let member = Buyer { kind: Some(Kind::UserId("42".into())) };
        let guest = Buyer { kind: Some(Kind::Guest(GuestIdentity { guest_id: "g7".into(), ..Default::default() })) };
        assert_eq!(member.key().as_deref(), Some("user:42"));
        assert_eq!(guest.key().as_deref(), Some("guest:g7"));
        assert_eq!(Buyer::default().key(), None);
    }
}
