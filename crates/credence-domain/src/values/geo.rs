//! Coordinates. Floats are fine here: a position is a measurement, not money.

/// Why a coordinate was refused: outside its range. Billing and shipping addresses share the
/// rule, so the error names no field; whoever knows the field words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a coordinate must be a number between {min} and {max}")]
pub struct CoordinateError {
    /// Lowest allowed value.
    pub min: i32,
    /// Highest allowed value.
    pub max: i32,
}

/// Degrees north, from -90 to 90.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latitude(f64);

impl Latitude {
    /// Validates a latitude.
    ///
    /// # Errors
    /// [`CoordinateError`] outside -90..=90 or not finite.
    pub fn new(degrees: f64) -> Result<Self, CoordinateError> {
        if degrees.is_finite() && (-90.0..=90.0).contains(&degrees) {
            Ok(Self(degrees))
        } else {
            Err(CoordinateError { min: -90, max: 90 })
        }
    }

    /// The degrees.
    #[must_use]
    pub fn degrees(self) -> f64 {
        self.0
    }
}

/// Degrees east, from -180 to 180.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Longitude(f64);

impl Longitude {
    /// Validates a longitude.
    ///
    /// # Errors
    /// [`CoordinateError`] outside -180..=180 or not finite.
    pub fn new(degrees: f64) -> Result<Self, CoordinateError> {
        if degrees.is_finite() && (-180.0..=180.0).contains(&degrees) {
            Ok(Self(degrees))
        } else {
            Err(CoordinateError {
                min: -180,
                max: 180,
            })
        }
    }

    /// The degrees.
    #[must_use]
    pub fn degrees(self) -> f64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_and_finite() {
        assert!(Latitude::new(90.0).is_ok());
        assert!(Latitude::new(-90.0).is_ok());
        assert!(Latitude::new(90.0001).is_err());
        assert!(Latitude::new(f64::NAN).is_err());
        assert!(Longitude::new(-180.0).is_ok());
        assert!(Longitude::new(180.5).is_err());
        assert_eq!(
            Longitude::new(200.0),
            Err(CoordinateError {
                min: -180,
                max: 180
            })
        );
    }
}
