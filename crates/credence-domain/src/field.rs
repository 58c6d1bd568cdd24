//! Three-state input fields: a partial update must tell "not sent" from "sent empty".

/// One field of a client's input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Field<T> {
    /// The client did not send the field: keep what is there (or the default on create).
    #[default]
    Absent,
    /// The client sent the field empty or `null`: clear it.
    Null,
    /// The client sent a value.
    Value(T),
}

impl<T> Field<T> {
    /// `Value` for `Some`, `Null` for `None`.
    pub fn from_option(value: Option<T>) -> Self {
        value.map_or(Self::Null, Self::Value)
    }

    /// Whether the client sent anything for this field.
    pub fn is_present(&self) -> bool {
        !matches!(self, Self::Absent)
    }

    /// The value, if one was sent.
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Maps the value, keeping absence and null.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Self::Absent => Field::Absent,
            Self::Null => Field::Null,
            Self::Value(v) => Field::Value(f(v)),
        }
    }

    /// Applies the field to a current optional value: absent keeps it, null clears it.
    pub fn apply_to(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Absent => current,
            Self::Null => None,
            Self::Value(v) => Some(v),
        }
    }
}
