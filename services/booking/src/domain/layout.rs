//! A performance's sellable layout, frozen when it was published: sections (reserved rows of
//! seats, or general-admission capacities), grades, positions and the focal point that "best"
//! is measured from. Built once per performance and shared read-only.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub fn distance(self, other: Point) -> f64 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Seat {
    pub id: String,
    pub row: String,
    pub number: String,
    pub grade: String,
    pub position: Point,
    pub accessible: bool,
    /// An aisle or gap separates this seat from the previous one in its row.
    pub gap_before: bool,
    /// Never sold (camera positions, house seats).
    pub blocked: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SectionKind {
    /// Rows of seats, left to right as seen from the focal point.
    Reserved {
        rows: Vec<Vec<Seat>>,
    },
    GeneralAdmission {
        capacity: u32,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub id: String,
    pub grade: String,
    pub kind: SectionKind,
}

impl Section {
    /// Places that can be sold: unblocked seats, or the GA capacity.
    pub fn capacity(&self) -> u32 {
        match &self.kind {
            SectionKind::Reserved { rows } => {
                u32::try_from(rows.iter().flatten().filter(|s| !s.blocked).count()).unwrap_or(u32::MAX)
            }
            SectionKind::GeneralAdmission { capacity } => *capacity,
        }
    }

    pub fn is_general_admission(&self) -> bool {
        matches!(self.kind, SectionKind::GeneralAdmission { .. })
    }
}

/// Where a seat sits: section, row and place in the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatAt {
    pub section: usize,
    pub row: usize,
    pub place: usize,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayoutError {
    #[error("seat {0:?} appears twice")]
    DuplicateSeat(String),
    #[error("section {0:?} appears twice")]
    DuplicateSection(String),
    #[error("the layout has no sections")]
    Empty,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub focal_point: Point,
    sections: Vec<Section>,
    seats: HashMap<String, SeatAt>,
    section_index: HashMap<String, usize>,
}

impl Layout {
    pub fn new(sections: Vec<Section>, focal_point: Point) -> Result<Self, LayoutError> {
        if sections.is_empty() {
            return Err(LayoutError::Empty);
        }
        let mut seats = HashMap::new();
        let mut section_index = HashMap::new();
        for (s, section) in sections.iter().enumerate() {
            if section_index.insert(section.id.clone(), s).is_some() {
                return Err(LayoutError::DuplicateSection(section.id.clone()));
            }
            if let SectionKind::Reserved { rows } = &section.kind {
                for (r, row) in rows.iter().enumerate() {
                    for (p, seat) in row.iter().enumerate() {
                        if seats.insert(seat.id.clone(), SeatAt { section: s, row: r, place: p }).is_some() {
                            return Err(LayoutError::DuplicateSeat(seat.id.clone()));
                        }
                    }
                }
            }
        }
        Ok(Self { focal_point, sections, seats, section_index })
    }

    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    pub fn section(&self, id: &str) -> Option<&Section> {
        self.section_index.get(id).map(|&i| &self.sections[i])
    }

    pub fn locate(&self, seat_id: &str) -> Option<SeatAt> {
        self.seats.get(seat_id).copied()
    }

    /// The seat and its section.
    pub fn seat(&self, seat_id: &str) -> Option<(&Section, &Seat)> {
        let at = self.locate(seat_id)?;
        let section = &self.sections[at.section];
        match &section.kind {
            SectionKind::Reserved { rows } => Some((section, &rows[at.row][at.place])),
            SectionKind::GeneralAdmission { .. } => None,
        }
    }

    pub fn reserved_seats(&self) -> u32 {
        self.sections.iter().filter(|s| !s.is_general_admission()).map(Section::capacity).sum()
    }

    pub fn general_admission_capacity(&self) -> u32 {
        self.sections.iter().filter(|s| s.is_general_admission()).map(Section::capacity).sum()
    }
}
