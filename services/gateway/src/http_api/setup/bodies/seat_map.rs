//! Seat maps: uploaded whole (sections, rows, seats) or generated from blocks.

use floodgate_proto::catalog::v1 as catalog;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Point, proto_enum};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    Reserved,
    GeneralAdmission,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Seat {
    pub seat_id: String,
    pub number: String,
    /// What a buyer reads, e.g. "B-12".
    #[serde(default)]
    pub label: String,
    pub position: Point,
    /// Overrides the section's grade.
    #[serde(default)]
    pub grade_code: String,
    #[serde(default)]
    pub accessible: bool,
    #[serde(default)]
    pub companion: bool,
    #[serde(default)]
    pub restricted_view: bool,
    /// An aisle separates this seat from the previous one in its row.
    #[serde(default)]
    pub gap_before: bool,
    /// Never sold (camera positions, house seats).
    #[serde(default)]
    pub blocked: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub label: String,
    /// Left to right as seen from the focal point.
    pub seats: Vec<Seat>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub section_id: String,
    pub name: String,
    pub kind: SectionKind,
    /// General admission only.
    #[serde(default)]
    pub capacity: u32,
    pub grade_code: String,
    #[serde(default)]
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatMap {
    /// The version being replaced (0 for the first map); a new version is created.
    pub expected_version: i32,
    /// The stage or screen centre "best" is measured from.
    pub focal_point: Point,
    pub sections: Vec<Section>,
}

impl SeatMap {
    pub fn into_request(self, hall_id: String) -> catalog::PutSeatMapRequest {
        let sections = self
            .sections
            .into_iter()
            .map(|s| catalog::Section {
                section_id: s.section_id,
                name: s.name,
                kind: proto_enum("SECTION_KIND", &s.kind, catalog::SectionKind::from_str_name),
                capacity: s.capacity,
                grade_code: s.grade_code,
                rows: s
                    .rows
                    .into_iter()
                    .map(|r| catalog::Row {
                        label: r.label,
                        seats: r
                            .seats
                            .into_iter()
                            .map(|seat| catalog::Seat {
                                seat_id: seat.seat_id,
                                number: seat.number,
                                position: Some(seat.position.into()),
                                grade_code: seat.grade_code,
                                accessible: seat.accessible,
                                gap_before: seat.gap_before,
                                blocked: seat.blocked,
                                label: seat.label,
                                companion: seat.companion,
                                restricted_view: seat.restricted_view,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        catalog::PutSeatMapRequest {
            hall_id: hall_id.clone(),
            seat_map: Some(catalog::SeatMap {
                hall_id,
                version: 0,
                sections,
                focal_point: Some(self.focal_point.into()),
            }),
            expected_version: self.expected_version,
        }
    }
}

/// One generated block: seated rows, or a standing area (`standing_capacity` and nothing else).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionLayout {
    pub section_id: String,
    pub name: String,
    pub grade_code: String,
    #[serde(default)]
    pub standing_capacity: u32,
    #[serde(default)]
    pub first_row: String,
    #[serde(default)]
    pub rows: u32,
    #[serde(default)]
    pub seats_per_row: u32,
    #[serde(default)]
    pub origin: Option<Point>,
    #[serde(default)]
    pub seat_spacing: f64,
    #[serde(default)]
    pub row_spacing: f64,
    /// Total angle the rows span around the focal point; 0 = straight.
    #[serde(default)]
    pub curve_degrees: f64,
    /// An aisle after every this many seats; 0 = none.
    #[serde(default)]
    pub aisle_every: u32,
    #[serde(default)]
    pub accessible_first_row: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneratedSeatMap {
    pub expected_version: i32,
    pub focal_point: Point,
    pub sections: Vec<SectionLayout>,
}

impl GeneratedSeatMap {
    pub fn into_request(self, hall_id: String) -> catalog::GenerateSeatMapRequest {
        catalog::GenerateSeatMapRequest {
            hall_id,
            sections: self
                .sections
                .into_iter()
                .map(|s| catalog::SectionLayout {
                    section_id: s.section_id,
                    name: s.name,
                    grade_code: s.grade_code,
                    standing_capacity: s.standing_capacity,
                    first_row: s.first_row,
                    rows: s.rows,
                    seats_per_row: s.seats_per_row,
                    origin: s.origin.map(Into::into),
                    seat_spacing: s.seat_spacing,
                    row_spacing: s.row_spacing,
                    curve_degrees: s.curve_degrees,
                    aisle_every: s.aisle_every,
                    accessible_first_row: s.accessible_first_row,
                })
                .collect(),
            focal_point: Some(self.focal_point.into()),
            expected_version: self.expected_version,
        }
    }
}
