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
    /// Every reserved seat numbered 0.. in section, row, place order: where each row starts …
    row_start: Vec<Vec<usize>>,
    /// … and each seat's distance to the focal point, worked out once rather than per hold.
    distance: Vec<f64>,
    /// Reserved rows (section, row, distance of their nearest seat), nearest first.
    rows_nearest_first: Vec<(usize, usize, f64)>,
}

/// A set of a layout's seats, one flag per seat. Best-available reads a stadium's every seat on
/// every hold; looking each up by id in a hash map was most of a hold's cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatSet {
    flags: Vec<bool>,
}

impl SeatSet {
    /// Whether the seat at flat index `index` (see [`Layout::row_start`]) is in the set.
    pub fn contains_index(&self, index: usize) -> bool {
        self.flags.get(index).copied().unwrap_or(false)
    }

    /// This set and the seats at these flat indices (those outside the layout are ignored).
    pub fn with_indices(&self, more: impl IntoIterator<Item = usize>) -> SeatSet {
        let mut set = self.clone();
        for index in more {
            if let Some(flag) = set.flags.get_mut(index) {
                *flag = true;
            }
        }
        set
    }
}

impl Layout {
    pub fn new(sections: Vec<Section>, focal_point: Point) -> Result<Self, LayoutError> {
        if sections.is_empty() {
            return Err(LayoutError::Empty);
        }
        let mut seats = HashMap::new();
        let mut section_index = HashMap::new();
        let (mut row_start, mut distance) = (Vec::with_capacity(sections.len()), Vec::new());
        let mut rows_nearest_first = Vec::new();
        for (s, section) in sections.iter().enumerate() {
            if section_index.insert(section.id.clone(), s).is_some() {
                return Err(LayoutError::DuplicateSection(section.id.clone()));
            }
            let mut starts = Vec::new();
            if let SectionKind::Reserved { rows } = &section.kind {
                for (r, row) in rows.iter().enumerate() {
                    starts.push(distance.len());
                    for (p, seat) in row.iter().enumerate() {
                        if seats.insert(seat.id.clone(), SeatAt { section: s, row: r, place: p }).is_some() {
                            return Err(LayoutError::DuplicateSeat(seat.id.clone()));
                        }
                        distance.push(seat.position.distance(focal_point));
                    }
                    let nearest = distance[starts[r]..].iter().copied().reduce(f64::min);
                    rows_nearest_first.extend(nearest.map(|d| (s, r, d)));
                }
            }
            row_start.push(starts);
        }
        // Stable: rows as near as each other stay in layout order.
        rows_nearest_first.sort_by(|a, b| a.2.total_cmp(&b.2));
        Ok(Self { focal_point, sections, seats, section_index, row_start, distance, rows_nearest_first })
    }

    /// Reserved rows as (section, row, distance of the nearest seat), nearest first (ties in
    /// layout order).
    pub fn rows_nearest_first(&self) -> &[(usize, usize, f64)] {
        &self.rows_nearest_first
    }

    /// The flat index of the first seat of a reserved row (`0` for a GA section).
    pub fn row_start(&self, section: usize, row: usize) -> usize {
        self.row_start.get(section).and_then(|rows| rows.get(row)).copied().unwrap_or(0)
    }

    /// Distances to the focal point of the seats from flat index `start`, `len` of them.
    pub fn distances(&self, start: usize, len: usize) -> &[f64] {
        self.distance.get(start..start + len).unwrap_or(&[])
    }

    /// The set of these seats; ids not in the layout are ignored.
    pub fn seat_set<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> SeatSet {
        let mut set = SeatSet { flags: vec![false; self.distance.len()] };
        self.add_to(&mut set, ids);
        set
    }

    /// Adds these seats to `set` (one of this layout's); ids not in the layout are ignored.
    pub fn add_to<'a>(&self, set: &mut SeatSet, ids: impl IntoIterator<Item = &'a str>) {
        for index in ids.into_iter().filter_map(|id| self.index_of(id)) {
            if let Some(flag) = set.flags.get_mut(index) {
                *flag = true;
            }
        }
    }

    /// The flat index of a reserved seat (see [`Layout::row_start`]).
    pub fn index_of(&self, seat_id: &str) -> Option<usize> {
        self.locate(seat_id).map(|at| self.row_start(at.section, at.row) + at.place)
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
