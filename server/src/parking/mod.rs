//! Parking (DESIGN §8, issue 14): plates as a domain type and temporary-parking tariffs, plain functions over plain
//! data. Vehicles, spaces, passes and gate decisions build on them.

pub mod plate;
pub mod tariff;
pub mod vehicles;
