//! Closed sets of values that traces and reports show by name: one table per enum gives the
//! name, the parsing of it, `Display` and (de)serialization, so the JSON keeps the exact names.

/// Serializes a closed set of values as their names, and gives it `Display` (the same name).
macro_rules! by_name {
    ($ty:ty) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                let name = <String as serde::Deserialize>::deserialize(d)?;
                <$ty>::from_name(&name).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        concat!("unknown ", stringify!($ty), " {:?}"),
                        name
                    ))
                })
            }
        }
    };
}

/// Declares a fieldless enum with one name per variant: `name`, `from_name`, `ALL`, and,
/// through [`by_name`], `Display` and (de)serialization by that name.
macro_rules! names {
    ($(#[$meta:meta])* pub enum $ty:ident { $( $(#[$vmeta:meta])* $variant:ident => $name:literal, )* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $ty {
            /// Every value.
            pub const ALL: &[$ty] = &[$($ty::$variant),*];

            /// The name traces and reports use.
            pub fn name(self) -> &'static str {
                match self {
                    $( $ty::$variant => $name, )*
                }
            }

            /// The value named `name`, if there is one.
            pub fn from_name(name: &str) -> Option<$ty> {
                match name {
                    $( $name => Some($ty::$variant), )*
                    _ => None,
                }
            }
        }

        $crate::names::by_name!($ty);
    };
}

/// Declares a `#[repr(i32)]` enum whose variants carry an ABI value and a name: one table from
/// which `from_raw`, `name`, `from_name`, `Display` and (de)serialization by name all come.
macro_rules! named_values {
    ($(#[$meta:meta])* pub enum $ty:ident { $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $name:literal, )* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum $ty {
            $( $(#[$vmeta])* $variant = $value, )*
        }

        impl $ty {
            /// Every value, in ABI order.
            pub const ALL: &[$ty] = &[$($ty::$variant),*];

            /// The value with this ABI number, if there is one.
            pub fn from_raw(v: i32) -> Option<$ty> {
                match v {
                    $( $value => Some($ty::$variant), )*
                    _ => None,
                }
            }

            /// The name traces show.
            pub fn name(self) -> &'static str {
                match self {
                    $( $ty::$variant => $name, )*
                }
            }

            /// The value named `name`, if there is one.
            pub fn from_name(name: &str) -> Option<$ty> {
                match name {
                    $( $name => Some($ty::$variant), )*
                    _ => None,
                }
            }
        }

        $crate::names::by_name!($ty);
    };
}

pub(crate) use {by_name, named_values, names};
