//! Seat maps and layouts across the contract boundary.

use floodgate_proto::catalog::v1 as wire;

use crate::domain::{
    FieldError, Invalid,
    layout::{SeatedLayout, SectionLayout},
    seat_map::{Area, Point, Row, Seat, SeatFlags, SeatMap, Section},
};

impl From<&SeatMap> for wire::SeatMap {
    fn from(map: &SeatMap) -> Self {
        wire::SeatMap {
            hall_id: String::new(),
            version: 0,
            sections: map.sections.iter().map(section_to_wire).collect(),
            focal_point: Some(point_to_wire(map.focal_point)),
        }
    }
}

fn section_to_wire(section: &Section) -> wire::Section {
    let (kind, capacity, rows) = match &section.area {
        Area::GeneralAdmission { capacity } => (wire::SectionKind::GeneralAdmission, *capacity, Vec::new()),
        Area::Reserved { rows } => (wire::SectionKind::Reserved, 0, rows.iter().map(row_to_wire).collect()),
    };
    wire::Section {
        section_id: section.id.clone(),
        name: section.name.clone(),
        kind: kind.into(),
        capacity,
        rows,
        grade_code: section.grade.clone(),
    }
}

fn row_to_wire(row: &Row) -> wire::Row {
    wire::Row {
        label: row.label.clone(),
        seats: row
            .seats
            .iter()
            .enumerate()
            .map(|(i, seat)| wire::Seat {
                seat_id: seat.id.clone(),
                number: (i + 1).to_string(),
                position: Some(point_to_wire(seat.position)),
                grade_code: seat.grade.clone().unwrap_or_default(),
                accessible: seat.flags.wheelchair,
                gap_before: seat.gap_before,
                blocked: seat.flags.not_for_sale,
                label: seat.label.clone(),
                companion: seat.flags.companion,
                restricted_view: seat.flags.restricted_view,
            })
            .collect(),
    }
}

fn point_to_wire(point: Point) -> wire::Point {
    wire::Point { x: point.x, y: point.y }
}

fn point_from_wire(point: Option<&wire::Point>) -> Point {
    point.map_or_else(Point::default, |p| Point { x: p.x, y: p.y })
}

impl TryFrom<&wire::SeatMap> for SeatMap {
    type Error = Invalid;

    /// Structure only; [`SeatMap::validate`] checks the content.
    fn try_from(map: &wire::SeatMap) -> Result<Self, Invalid> {
        let mut errors = Vec::new();
        let mut sections = Vec::with_capacity(map.sections.len());
        for (s, section) in map.sections.iter().enumerate() {
            let area = match section.kind() {
                wire::SectionKind::GeneralAdmission => Area::GeneralAdmission { capacity: section.capacity },
                wire::SectionKind::Reserved => Area::Reserved {
                    rows: section
                        .rows
                        .iter()
                        .map(|row| Row {
                            label: row.label.clone(),
                            seats: row.seats.iter().map(|seat| seat_from_wire(row, seat)).collect(),
                        })
                        .collect(),
                },
                wire::SectionKind::Unspecified => {
                    errors
                        .push(FieldError::new(format!("sections[{s}].kind"), "must be RESERVED or GENERAL_ADMISSION"));
                    continue;
                }
            };
            sections.push(Section {
                id: section.section_id.clone(),
                name: section.name.clone(),
                grade: section.grade_code.clone(),
                area,
            });
        }
        if errors.is_empty() {
            Ok(SeatMap { sections, focal_point: point_from_wire(map.focal_point.as_ref()) })
        } else {
            Err(Invalid(errors))
        }
    }
}

fn seat_from_wire(row: &wire::Row, seat: &wire::Seat) -> Seat {
    // Older clients send only row + number; the label buyers read is then "B-12".
    let label = if seat.label.is_empty() { format!("{}-{}", row.label, seat.number) } else { seat.label.clone() };
    Seat {
        id: seat.seat_id.clone(),
        label,
        position: point_from_wire(seat.position.as_ref()),
        grade: (!seat.grade_code.is_empty()).then(|| seat.grade_code.clone()),
        flags: SeatFlags {
            wheelchair: seat.accessible,
            companion: seat.companion,
            restricted_view: seat.restricted_view,
            not_for_sale: seat.blocked,
        },
        gap_before: seat.gap_before,
    }
}

impl TryFrom<&wire::SectionLayout> for SectionLayout {
    type Error = FieldError;

    fn try_from(layout: &wire::SectionLayout) -> Result<Self, FieldError> {
        if layout.standing_capacity > 0 {
            return Ok(SectionLayout::Standing {
                id: layout.section_id.clone(),
                name: layout.name.clone(),
                grade: layout.grade_code.clone(),
                capacity: layout.standing_capacity,
            });
        }
        let small =
            |value: u32, field: &str| u16::try_from(value).map_err(|_| FieldError::new(field, "must be at most 65535"));
        Ok(SectionLayout::Seated(SeatedLayout {
            id: layout.section_id.clone(),
            name: layout.name.clone(),
            grade: layout.grade_code.clone(),
            first_row: if layout.first_row.is_empty() { "A".into() } else { layout.first_row.clone() },
            rows: small(layout.rows, "rows")?,
            seats_per_row: small(layout.seats_per_row, "seats_per_row")?,
            origin: point_from_wire(layout.origin.as_ref()),
            seat_spacing: if layout.seat_spacing > 0.0 { layout.seat_spacing } else { 1.0 },
            row_spacing: if layout.row_spacing > 0.0 { layout.row_spacing } else { 1.2 },
            curve_degrees: layout.curve_degrees,
            aisle_every: small(layout.aisle_every, "aisle_every")?,
            accessible_first_row: layout.accessible_first_row,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::layout::generate;

    fn stadium_block() -> SeatMap {
        generate(
            &[
                SectionLayout::Seated(SeatedLayout {
                    id: "101".into(),
                    name: "Block 101".into(),
                    grade: "R".into(),
                    first_row: "A".into(),
                    rows: 12,
                    seats_per_row: 25,
                    origin: Point { x: 0.0, y: 50.0 },
                    seat_spacing: 0.5,
                    row_spacing: 0.8,
                    curve_degrees: 30.0,
                    aisle_every: 0,
                    accessible_first_row: true,
                }),
                SectionLayout::Standing {
                    id: "floor".into(),
                    name: "Floor".into(),
                    grade: "GA".into(),
                    capacity: 3_000,
                },
            ],
            Point::default(),
        )
    }

    #[test]
    fn seat_maps_survive_the_wire() {
        let map = stadium_block();
        let back = SeatMap::try_from(&wire::SeatMap::from(&map)).expect("converts");
        assert_eq!(back, map);
    }

    #[test]
    fn a_section_without_a_kind_is_a_field_error() {
        let mut message = wire::SeatMap::from(&stadium_block());
        message.sections[1].kind = wire::SectionKind::Unspecified.into();
        let Invalid(errors) = SeatMap::try_from(&message).expect_err("no kind");
        assert_eq!(errors, vec![FieldError::new("sections[1].kind", "must be RESERVED or GENERAL_ADMISSION")]);
    }
}
