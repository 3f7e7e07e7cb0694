//! The seat-map generator operators use instead of drawing 60,000 seats by hand:
//! "rows A–Z, 30 seats each, curved 40°, an aisle every 10 seats".
//!
//! Seats get stable ids (`<section>-<row>-<number>`) and x/y positions for drawing: straight rows
//! run left to right; curved rows follow arcs around the focal point, so every seat faces it.

use super::seat_map::{Area, Point, Row, Seat, SeatFlags, SeatMap, Section};

/// One block of the generated map.
#[derive(Debug, Clone, PartialEq)]
pub enum SectionLayout {
    Seated(SeatedLayout),
    Standing { id: String, name: String, grade: String, capacity: u32 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeatedLayout {
    pub id: String,
    pub name: String,
    pub grade: String,
    /// Label of the first row (nearest the focal point): "A", or "AA" to continue a lettering.
    pub first_row: String,
    pub rows: u16,
    pub seats_per_row: u16,
    /// Where the middle of the first row is.
    pub origin: Point,
    pub seat_spacing: f64,
    pub row_spacing: f64,
    /// Total angle the rows span around the focal point; 0 = straight rows.
    pub curve_degrees: f64,
    /// An aisle after every this many seats (0 = none).
    pub aisle_every: u16,
    /// Seats at both ends of the first row are wheelchair places, with a companion seat beside.
    pub accessible_first_row: bool,
}

/// Builds the map; validate it like any imported map before storing it.
pub fn generate(layouts: &[SectionLayout], focal_point: Point) -> SeatMap {
    let sections = layouts
        .iter()
        .map(|layout| match layout {
            SectionLayout::Standing { id, name, grade, capacity } => Section {
                id: id.clone(),
                name: name.clone(),
                grade: grade.clone(),
                area: Area::GeneralAdmission { capacity: *capacity },
            },
            SectionLayout::Seated(seated) => Section {
                id: seated.id.clone(),
                name: seated.name.clone(),
                grade: seated.grade.clone(),
                area: Area::Reserved { rows: seated_rows(seated, focal_point) },
            },
        })
        .collect();
    SeatMap { sections, focal_point }
}

fn seated_rows(layout: &SeatedLayout, focal: Point) -> Vec<Row> {
    let first = row_index(&layout.first_row);
    (0..layout.rows)
        .map(|r| {
            let label = row_label(first + usize::from(r));
            let seats = (0..layout.seats_per_row)
                .map(|i| {
                    let number = i + 1;
                    let end = i == 0 || number == layout.seats_per_row;
                    let next_to_end = i == 1 || number + 1 == layout.seats_per_row;
                    let accessible_row = layout.accessible_first_row && r == 0;
                    Seat {
                        id: format!("{}-{label}-{number}", layout.id),
                        label: format!("{label}-{number}"),
                        position: position(layout, focal, r, i),
                        grade: None,
                        flags: SeatFlags {
                            wheelchair: accessible_row && end,
                            companion: accessible_row && next_to_end && !end,
                            ..SeatFlags::default()
                        },
                        gap_before: layout.aisle_every > 0 && i > 0 && i % layout.aisle_every == 0,
                    }
                })
                .collect();
            Row { label, seats }
        })
        .collect()
}

fn position(layout: &SeatedLayout, focal: Point, row: u16, seat: u16) -> Point {
    let across = f64::from(seat) - f64::from(layout.seats_per_row.saturating_sub(1)) / 2.0;
    let aisles = seat.checked_div(layout.aisle_every).map_or(0.0, f64::from);
    let offset = (across + aisles * 0.5) * layout.seat_spacing;
    let back = f64::from(row) * layout.row_spacing;
    if layout.curve_degrees == 0.0 {
        return Point { x: layout.origin.x + offset, y: layout.origin.y + back };
    }
    // Arc around the focal point through the origin; each row a step further out.
    let (dx, dy) = (layout.origin.x - focal.x, layout.origin.y - focal.y);
    let radius = dx.hypot(dy) + back;
    let centre = dy.atan2(dx);
    let first_row_width = f64::from(layout.seats_per_row.max(1)) * layout.seat_spacing;
    let radians_per_unit = layout.curve_degrees.to_radians() / first_row_width;
    let angle = centre - offset * radians_per_unit;
    Point { x: focal.x + radius * angle.cos(), y: focal.y + radius * angle.sin() }
}

/// "A" → 0, "Z" → 25, "AA" → 26: spreadsheet-style row letters.
fn row_index(label: &str) -> usize {
    label
        .bytes()
        .filter(u8::is_ascii_uppercase)
        .fold(0usize, |acc, b| acc * 26 + usize::from(b - b'A') + 1)
        .saturating_sub(1)
}

fn row_label(mut index: usize) -> String {
    let mut label = Vec::new();
    loop {
        label.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    label.reverse();
    String::from_utf8(label).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    fn seated(rows: u16, seats: u16, curve: f64, aisle: u16) -> SeatedLayout {
        SeatedLayout {
            id: "s1".into(),
            name: "Section 1".into(),
            grade: "R".into(),
            first_row: "A".into(),
            rows,
            seats_per_row: seats,
            origin: Point { x: 0.0, y: 100.0 },
            seat_spacing: 1.0,
            row_spacing: 1.2,
            curve_degrees: curve,
            aisle_every: aisle,
            accessible_first_row: true,
        }
    }

    #[test]
    fn row_letters_continue_past_z() {
        assert_eq!(row_label(0), "A");
        assert_eq!(row_label(25), "Z");
        assert_eq!(row_label(26), "AA");
        assert_eq!(row_label(27), "AB");
        assert_eq!(row_label(701), "ZZ");
        assert_eq!(row_label(702), "AAA");
        for i in [0, 25, 26, 51, 700, 702] {
            assert_eq!(row_index(&row_label(i)), i);
        }
    }

    #[test]
    fn rows_a_to_z_of_30_seats() {
        let map = generate(&[SectionLayout::Seated(seated(26, 30, 0.0, 10))], Point::default());
        map.validate(None).expect("valid");
        let Area::Reserved { rows } = &map.sections[0].area else { panic!("seated") };
        assert_eq!(rows.first().map(|r| r.label.as_str()), Some("A"));
        assert_eq!(rows.last().map(|r| r.label.as_str()), Some("Z"));
        let b12 = &rows[1].seats[11];
        assert_eq!((b12.id.as_str(), b12.label.as_str()), ("s1-B-12", "B-12"));
        assert!(rows[0].seats[10].gap_before && !rows[0].seats[9].gap_before, "aisle after every 10 seats");
        assert!(rows[0].seats[0].flags.wheelchair && rows[0].seats[1].flags.companion);
        assert!(!rows[1].seats[0].flags.wheelchair, "only the first row is accessible");
    }

    #[test]
    fn curved_rows_keep_every_seat_of_a_row_equally_far_from_the_stage() {
        let focal = Point { x: 0.0, y: 0.0 };
        let map = generate(&[SectionLayout::Seated(seated(3, 20, 60.0, 0))], focal);
        let Area::Reserved { rows } = &map.sections[0].area else { panic!("seated") };
        for (r, row) in rows.iter().enumerate() {
            let expected = 100.0 + r as f64 * 1.2;
            for seat in &row.seats {
                let distance = seat.position.x.hypot(seat.position.y);
                assert!((distance - expected).abs() < 1e-9, "row {r}: {distance} vs {expected}");
            }
        }
    }

    proptest! {
        #[test]
        fn generated_maps_are_valid_with_unique_ids(rows in 1u16..40, seats in 1u16..60, curve in 0.0f64..120.0, aisle in 0u16..12) {
            let map = generate(&[
                SectionLayout::Seated(seated(rows, seats, curve, aisle)),
                SectionLayout::Standing { id: "ga".into(), name: "Standing".into(), grade: "GA".into(), capacity: 100 },
            ], Point::default());
            prop_assert!(map.validate(None).is_ok());
            let capacity = map.capacity();
            prop_assert_eq!(capacity.total, u64::from(rows) * u64::from(seats) + 100);
            let Area::Reserved { rows: generated } = &map.sections[0].area else { panic!("seated") };
            let ids: HashSet<_> = generated.iter().flat_map(|r| &r.seats).map(|s| &s.id).collect();
            prop_assert_eq!(ids.len() as u64, u64::from(rows) * u64::from(seats));
        }
    }
}
