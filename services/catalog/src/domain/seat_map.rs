//! Seat maps: sections → rows → seats, or general-admission areas with a capacity.
//!
//! A seat map is what every later step relies on — booking builds its inventory from it and a
//! seat id is the key PostgreSQL uses to refuse a second sale — so validation is strict: ids
//! unique across the whole map, every sellable seat priced by a grade, sizes bounded.

use std::collections::{BTreeMap, HashSet};

use super::{Invalid, Validation};

/// The largest map the catalog accepts (seats plus general-admission places).
pub const MAX_PLACES: u64 = 100_000;
const MAX_ID_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeatMap {
    pub sections: Vec<Section>,
    /// Where "best" is measured from: the stage or the middle of the screen.
    pub focal_point: Point,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub id: String,
    pub name: String,
    /// The grade of every seat that does not name its own.
    pub grade: String,
    pub area: Area,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Area {
    Reserved { rows: Vec<Row> },
    GeneralAdmission { capacity: u32 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub label: String,
    /// In physical order; adjacency is by position here, broken where `gap_before` is set.
    pub seats: Vec<Seat>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Seat {
    /// Stable across map versions; booking and tickets refer to it.
    pub id: String,
    /// What a buyer reads, e.g. "B-12".
    pub label: String,
    pub position: Point,
    /// Overrides the section's grade.
    pub grade: Option<String>,
    pub flags: SeatFlags,
    /// An aisle or gap separates this seat from the previous one in its row.
    pub gap_before: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeatFlags {
    pub wheelchair: bool,
    pub companion: bool,
    pub restricted_view: bool,
    /// Camera positions, house seats, broken seats: shown, never sold.
    pub not_for_sale: bool,
}

/// Places per section and per grade.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capacity {
    pub total: u64,
    pub sellable: u64,
    pub by_section: BTreeMap<String, u64>,
    pub by_grade: BTreeMap<String, u64>,
}

impl Seat {
    /// The grade this seat is priced by.
    pub fn grade<'a>(&'a self, section: &'a Section) -> &'a str {
        self.grade.as_deref().unwrap_or(&section.grade)
    }
}

impl SeatMap {
    /// Checks the whole map; `grades`, when given, are the only grade codes allowed.
    pub fn validate(&self, grades: Option<&HashSet<String>>) -> Result<(), Invalid> {
        let mut v = Validation::default();
        v.check(!self.sections.is_empty(), || "sections".into(), "a seat map needs at least one section");
        v.check(finite(self.focal_point), || "focal_point".into(), "must be finite");

        let mut section_ids = HashSet::new();
        let mut seat_ids = HashSet::new();
        let mut places: u64 = 0;
        for (s, section) in self.sections.iter().enumerate() {
            let at = |field: &str| format!("sections[{s}].{field}");
            check_id(&mut v, &section.id, || at("id"));
            v.check(section_ids.insert(section.id.as_str()), || at("id"), format!("{:?} is used twice", section.id));
            v.check(!section.name.trim().is_empty(), || at("name"), "must not be empty");
            check_grade(&mut v, &section.grade, grades, || at("grade"));
            match &section.area {
                Area::GeneralAdmission { capacity } => {
                    v.check(*capacity > 0, || at("capacity"), "a general-admission area needs a capacity");
                    places += u64::from(*capacity);
                }
                Area::Reserved { rows } => {
                    v.check(!rows.is_empty(), || at("rows"), "a reserved section needs at least one row");
                    for (r, row) in rows.iter().enumerate() {
                        let at = |field: &str| format!("sections[{s}].rows[{r}].{field}");
                        v.check(!row.label.trim().is_empty(), || at("label"), "must not be empty");
                        v.check(!row.seats.is_empty(), || at("seats"), "a row needs at least one seat");
                        for (i, seat) in row.seats.iter().enumerate() {
                            let at = |field: &str| format!("sections[{s}].rows[{r}].seats[{i}].{field}");
                            check_id(&mut v, &seat.id, || at("id"));
                            v.check(
                                seat_ids.insert(seat.id.as_str()),
                                || at("id"),
                                format!("{:?} is used twice", seat.id),
                            );
                            v.check(!seat.label.trim().is_empty(), || at("label"), "must not be empty");
                            v.check(finite(seat.position), || at("position"), "must be finite");
                            if let Some(grade) = &seat.grade {
                                check_grade(&mut v, grade, grades, || at("grade"));
                            }
                        }
                        places += row.seats.len() as u64;
                    }
                }
            }
        }
        v.check(places <= MAX_PLACES, || "sections".into(), format!("{places} places; at most {MAX_PLACES}"));
        v.finish()
    }

    /// Places per section and grade; not-for-sale seats count in `total` only.
    pub fn capacity(&self) -> Capacity {
        let mut capacity = Capacity::default();
        for section in &self.sections {
            match &section.area {
                Area::GeneralAdmission { capacity: places } => {
                    let places = u64::from(*places);
                    capacity.total += places;
                    capacity.sellable += places;
                    *capacity.by_section.entry(section.id.clone()).or_default() += places;
                    *capacity.by_grade.entry(section.grade.clone()).or_default() += places;
                }
                Area::Reserved { rows } => {
                    for seat in rows.iter().flat_map(|row| &row.seats) {
                        capacity.total += 1;
                        if seat.flags.not_for_sale {
                            continue;
                        }
                        capacity.sellable += 1;
                        *capacity.by_section.entry(section.id.clone()).or_default() += 1;
                        *capacity.by_grade.entry(seat.grade(section).to_owned()).or_default() += 1;
                    }
                }
            }
        }
        capacity
    }

    /// Every grade code the map uses.
    pub fn grades(&self) -> HashSet<&str> {
        let mut grades = HashSet::new();
        for section in &self.sections {
            grades.insert(section.grade.as_str());
            if let Area::Reserved { rows } = &section.area {
                grades.extend(rows.iter().flat_map(|r| &r.seats).filter_map(|s| s.grade.as_deref()));
            }
        }
        grades
    }
}

fn finite(point: Point) -> bool {
    point.x.is_finite() && point.y.is_finite()
}

fn check_id(v: &mut Validation, id: &str, field: impl Fn() -> String) {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    v.check(ok, field, format!("must be 1–{MAX_ID_LEN} characters of A–Z, a–z, 0–9, '-', '_' or '.'"));
}

fn check_grade(v: &mut Validation, grade: &str, grades: Option<&HashSet<String>>, field: impl Fn() -> String) {
    if grade.trim().is_empty() {
        v.push(field(), "must not be empty");
    } else if let Some(grades) = grades
        && !grades.contains(grade)
    {
        v.push(field(), format!("unknown grade {grade:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seat(id: &str) -> Seat {
        Seat {
            id: id.into(),
            label: id.into(),
            position: Point::default(),
            grade: None,
            flags: SeatFlags::default(),
            gap_before: false,
        }
    }

    fn map() -> SeatMap {
        SeatMap {
            sections: vec![
                Section {
                    id: "floor".into(),
                    name: "Floor".into(),
                    grade: "R".into(),
                    area: Area::Reserved {
                        rows: vec![Row { label: "A".into(), seats: vec![seat("A-1"), seat("A-2"), seat("A-3")] }],
                    },
                },
                Section {
                    id: "standing".into(),
                    name: "Standing".into(),
                    grade: "GA".into(),
                    area: Area::GeneralAdmission { capacity: 500 },
                },
            ],
            focal_point: Point::default(),
        }
    }

    #[test]
    fn a_sound_map_validates_and_counts_its_places() {
        let mut map = map();
        if let Area::Reserved { rows } = &mut map.sections[0].area {
            rows[0].seats[0].grade = Some("VIP".into());
            rows[0].seats[2].flags.not_for_sale = true;
        }
        map.validate(None).expect("valid");
        let capacity = map.capacity();
        assert_eq!(capacity.total, 503);
        assert_eq!(capacity.sellable, 502);
        assert_eq!(capacity.by_grade["VIP"], 1);
        assert_eq!(capacity.by_grade["R"], 1);
        assert_eq!(capacity.by_section["standing"], 500);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut map = map();
        if let Area::Reserved { rows } = &mut map.sections[0].area {
            rows[0].seats[1].id = "A-1".into();
            rows[0].seats[2].label = " ".into();
        }
        map.sections[1].area = Area::GeneralAdmission { capacity: 0 };
        let Invalid(errors) = map.validate(None).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["sections[0].rows[0].seats[1].id", "sections[0].rows[0].seats[2].label", "sections[1].capacity"]
        );
        assert!(errors[0].reason.contains("used twice"));
    }

    #[test]
    fn grades_must_be_known_when_a_price_list_is_given() {
        let known: HashSet<String> = ["R".to_owned()].into();
        let Invalid(errors) = map().validate(Some(&known)).expect_err("GA is not priced");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "sections[1].grade");
    }

    #[test]
    fn maps_larger_than_the_limit_are_refused() {
        let mut map = map();
        map.sections[1].area = Area::GeneralAdmission { capacity: MAX_PLACES as u32 };
        let Invalid(errors) = map.validate(None).expect_err("too large");
        assert!(errors[0].reason.contains("at most 100000"), "{errors:?}");
    }

    #[test]
    fn ids_are_restricted_to_a_safe_alphabet() {
        let mut map = map();
        map.sections[0].id = "floor 1/<b>".into();
        assert!(map.validate(None).is_err());
    }
}
