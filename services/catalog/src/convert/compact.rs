//! The compact, column-wise seat-map encoding served to buyers' seat maps
//! (`floodgate.catalog.v1.CompactSeatMap`).
//!
//! Generated maps follow the id pattern, so their ids and labels are not sent at all; positions
//! are delta-encoded hundredths (small varints); grades and flags are sent only when some seat
//! uses them. [`expand`] is the inverse, used by tests and by Rust clients.

use floodgate_proto::catalog::v1 as wire;

use crate::domain::{
    FieldError, Invalid,
    seat_map::{Area, Point, Row, Seat, SeatFlags, SeatMap, Section},
};

const WHEELCHAIR: u32 = 1;
const COMPANION: u32 = 2;
const RESTRICTED_VIEW: u32 = 4;
const NOT_FOR_SALE: u32 = 8;
const GAP_BEFORE: u32 = 16;

/// Encodes `map`; positions are kept to a hundredth of a map unit.
pub fn compact(map: &SeatMap, version: i32) -> wire::CompactSeatMap {
    wire::CompactSeatMap {
        sections: map.sections.iter().map(compact_section).collect(),
        focal_point: Some(wire::Point { x: map.focal_point.x, y: map.focal_point.y }),
        version,
    }
}

fn compact_section(section: &Section) -> wire::CompactSection {
    let mut out = wire::CompactSection {
        section_id: section.id.clone(),
        name: section.name.clone(),
        grade_code: section.grade.clone(),
        ..Default::default()
    };
    let rows = match &section.area {
        Area::GeneralAdmission { capacity } => {
            out.kind = wire::SectionKind::GeneralAdmission.into();
            out.capacity = *capacity;
            return out;
        }
        Area::Reserved { rows } => rows,
    };
    out.kind = wire::SectionKind::Reserved.into();
    out.derived_ids = rows.iter().all(|row| {
        row.seats.iter().enumerate().all(|(i, seat)| {
            seat.id == format!("{}-{}-{}", section.id, row.label, i + 1)
                && seat.label == format!("{}-{}", row.label, i + 1)
        })
    });
    let (mut x, mut y) = (0i64, 0i64);
    let mut any_grade = false;
    let mut any_flag = false;
    let seats = rows.iter().map(|r| r.seats.len()).sum();
    out.x_deltas.reserve(seats);
    out.y_deltas.reserve(seats);
    for row in rows {
        out.row_labels.push(row.label.clone());
        out.row_seat_counts.push(u32::try_from(row.seats.len()).unwrap_or(u32::MAX));
        for seat in &row.seats {
            if !out.derived_ids {
                out.seat_ids.push(seat.id.clone());
                out.seat_labels.push(seat.label.clone());
            }
            let (sx, sy) = (centi(seat.position.x), centi(seat.position.y));
            out.x_deltas.push(i32::try_from(sx - x).unwrap_or(0));
            out.y_deltas.push(i32::try_from(sy - y).unwrap_or(0));
            (x, y) = (sx, sy);
            let grade = match &seat.grade {
                None => 0,
                Some(grade) => {
                    any_grade = true;
                    let index = out.grades.iter().position(|g| g == grade).unwrap_or_else(|| {
                        out.grades.push(grade.clone());
                        out.grades.len() - 1
                    });
                    u32::try_from(index + 1).unwrap_or(0)
                }
            };
            out.seat_grade.push(grade);
            let flags = flag(seat.flags.wheelchair, WHEELCHAIR)
                | flag(seat.flags.companion, COMPANION)
                | flag(seat.flags.restricted_view, RESTRICTED_VIEW)
                | flag(seat.flags.not_for_sale, NOT_FOR_SALE)
                | flag(seat.gap_before, GAP_BEFORE);
            any_flag |= flags != 0;
            out.flags.push(flags);
        }
    }
    if !any_grade {
        out.seat_grade.clear();
    }
    if !any_flag {
        out.flags.clear();
    }
    out
}

/// Decodes a compact map back into a seat map.
pub fn expand(compact: &wire::CompactSeatMap) -> Result<SeatMap, Invalid> {
    let sections = compact
        .sections
        .iter()
        .enumerate()
        .map(|(s, section)| expand_section(section).map_err(|reason| FieldError::new(format!("sections[{s}]"), reason)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Invalid(vec![e]))?;
    let focal = compact.focal_point.as_ref().map_or_else(Point::default, |p| Point { x: p.x, y: p.y });
    Ok(SeatMap { sections, focal_point: focal })
}

fn expand_section(section: &wire::CompactSection) -> Result<Section, String> {
    let area = match section.kind() {
        wire::SectionKind::GeneralAdmission => Area::GeneralAdmission { capacity: section.capacity },
        wire::SectionKind::Unspecified => return Err("kind is unspecified".into()),
        wire::SectionKind::Reserved => {
            let total: usize = section.row_seat_counts.iter().map(|n| *n as usize).sum();
            let consistent = section.row_labels.len() == section.row_seat_counts.len()
                && section.x_deltas.len() == total
                && section.y_deltas.len() == total
                && (section.derived_ids || (section.seat_ids.len() == total && section.seat_labels.len() == total))
                && (section.seat_grade.is_empty() || section.seat_grade.len() == total)
                && (section.flags.is_empty() || section.flags.len() == total);
            if !consistent {
                return Err("per-seat arrays do not match the row counts".into());
            }
            let (mut x, mut y, mut k) = (0i64, 0i64, 0usize);
            let mut rows = Vec::with_capacity(section.row_labels.len());
            for (label, count) in section.row_labels.iter().zip(&section.row_seat_counts) {
                let mut seats = Vec::with_capacity(*count as usize);
                for n in 1..=*count {
                    x += i64::from(section.x_deltas[k]);
                    y += i64::from(section.y_deltas[k]);
                    let flags = section.flags.get(k).copied().unwrap_or(0);
                    let grade = match section.seat_grade.get(k).copied().unwrap_or(0) {
                        0 => None,
                        i => Some(section.grades.get(i as usize - 1).cloned().ok_or("grade index out of range")?),
                    };
                    let (id, seat_label) = if section.derived_ids {
                        (format!("{}-{label}-{n}", section.section_id), format!("{label}-{n}"))
                    } else {
                        (section.seat_ids[k].clone(), section.seat_labels[k].clone())
                    };
                    seats.push(Seat {
                        id,
                        label: seat_label,
                        position: Point { x: x as f64 / 100.0, y: y as f64 / 100.0 },
                        grade,
                        flags: SeatFlags {
                            wheelchair: flags & WHEELCHAIR != 0,
                            companion: flags & COMPANION != 0,
                            restricted_view: flags & RESTRICTED_VIEW != 0,
                            not_for_sale: flags & NOT_FOR_SALE != 0,
                        },
                        gap_before: flags & GAP_BEFORE != 0,
                    });
                    k += 1;
                }
                rows.push(Row { label: label.clone(), seats });
            }
            Area::Reserved { rows }
        }
    };
    Ok(Section { id: section.section_id.clone(), name: section.name.clone(), grade: section.grade_code.clone(), area })
}

fn centi(v: f64) -> i64 {
    (v * 100.0).round() as i64
}

fn flag(on: bool, bit: u32) -> u32 {
    if on { bit } else { 0 }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message as _;

    use super::*;
    use crate::domain::layout::{SeatedLayout, SectionLayout, generate};

    fn block(id: &str, rows: u16, seats: u16, curve: f64) -> SectionLayout {
        SectionLayout::Seated(SeatedLayout {
            id: id.into(),
            name: id.into(),
            grade: "R".into(),
            first_row: "A".into(),
            rows,
            seats_per_row: seats,
            origin: Point { x: 3.0, y: 40.0 },
            seat_spacing: 0.55,
            row_spacing: 0.85,
            curve_degrees: curve,
            aisle_every: 8,
            accessible_first_row: true,
        })
    }

    /// Positions as the compact encoding keeps them.
    fn rounded(mut map: SeatMap) -> SeatMap {
        for section in &mut map.sections {
            if let Area::Reserved { rows } = &mut section.area {
                for seat in rows.iter_mut().flat_map(|r| &mut r.seats) {
                    seat.position =
                        Point { x: centi(seat.position.x) as f64 / 100.0, y: centi(seat.position.y) as f64 / 100.0 };
                }
            }
        }
        map
    }

    #[test]
    fn imported_maps_with_their_own_ids_and_grades_round_trip() {
        let mut map = generate(&[block("101", 4, 10, 30.0)], Point::default());
        if let Area::Reserved { rows } = &mut map.sections[0].area {
            rows[1].seats[3].id = "house-seat-7".into();
            rows[1].seats[3].grade = Some("VIP".into());
            rows[2].seats[0].flags.restricted_view = true;
        }
        let compact = compact(&map, 3);
        assert!(!compact.sections[0].derived_ids, "one id breaks the pattern");
        assert_eq!(expand(&compact).expect("expands"), rounded(map));
    }

    #[test]
    fn a_stadium_is_a_fraction_of_the_full_encoding() {
        let blocks: Vec<_> = (0..40).map(|b| block(&format!("S{b}"), 30, 50, 20.0)).collect();
        let map = generate(&blocks, Point::default());
        assert_eq!(map.capacity().total, 60_000);
        let full = wire::SeatMap::from(&map).encoded_len();
        let small = compact(&map, 1).encoded_len();
        assert!(small * 4 < full, "compact {small} bytes vs full {full} bytes");
    }

    #[test]
    fn inconsistent_arrays_are_refused() {
        let mut compact = compact(&generate(&[block("A", 2, 3, 0.0)], Point::default()), 1);
        compact.sections[0].x_deltas.pop();
        assert!(expand(&compact).is_err());
    }

    proptest! {
        #[test]
        fn generated_maps_round_trip(rows in 1u16..20, seats in 1u16..40, curve in 0.0f64..90.0) {
            let map = generate(&[block("A", rows, seats, curve), block("B", 2, 5, 0.0)], Point { x: 1.5, y: -2.25 });
            let compact = compact(&map, 1);
            prop_assert!(compact.sections.iter().all(|s| s.derived_ids));
            prop_assert_eq!(expand(&compact).expect("expands"), rounded(map));
        }
    }
}
