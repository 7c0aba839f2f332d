//! The colour theme: light or dark. `public/styles.css` reads it from `<html data-theme>`.
//!
//! The user's choice is remembered under [`STORAGE_KEY`]; without one the system preference
//! decides. `app/index.html` applies a remembered choice before the wasm loads, with the same key.

/// The `localStorage` key of the remembered choice (also used by `app/index.html`).
pub const STORAGE_KEY: &str = "pwp-theme";

/// A colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    /// Parses a stored value; anything else is `None`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "light" => Some(Self::Light),
            "dark" => Some(Self::Dark),
            _ => None,
        }
    }

    /// The value of `data-theme` and of the stored choice.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    /// The other theme.
    pub fn toggled(self) -> Self {
        match self {
            Self::Light => Self::Dark,
            Self::Dark => Self::Light,
        }
    }

    /// The theme at start-up: the remembered choice, else the system preference.
    pub fn initial(stored: Option<&str>, system_prefers_dark: bool) -> Self {
        stored
            .and_then(Self::parse)
            .unwrap_or(if system_prefers_dark {
                Self::Dark
            } else {
                Self::Light
            })
    }
}

#[cfg(test)]
mod tests {
    use super::Theme;

    #[test]
    fn a_stored_choice_wins_over_the_system_preference() {
        assert_eq!(Theme::initial(Some("light"), true), Theme::Light);
        assert_eq!(Theme::initial(Some("dark"), false), Theme::Dark);
    }

    #[test]
    fn without_a_valid_choice_the_system_preference_decides() {
        assert_eq!(Theme::initial(None, true), Theme::Dark);
        assert_eq!(Theme::initial(Some("purple"), false), Theme::Light);
    }

    #[test]
    fn toggling_round_trips_through_the_stored_value() {
        for theme in [Theme::Light, Theme::Dark] {
            assert_ne!(theme.toggled(), theme);
            assert_eq!(theme.toggled().toggled(), theme);
            assert_eq!(Theme::parse(theme.as_str()), Some(theme));
        }
    }
}
