//! Enums stored as text: one declaration gives the variants their stored names, and the enum
//! its `ALL`, `as_str`, `parse`, `Display`, serde (as the stored name) and sqlx encoding and
//! decoding on both backends. A row field of such a type is decoded once, by the store; a
//! value outside the enum (which the column's CHECK constraint rules out) is a decode error,
//! not a silent fallback.

/// Declares an enum whose values are stored and sent as the given names:
///
/// ```ignore
/// yunyi::text_enum! {
///     /// Where a consultation is in its life.
///     pub enum Status {
///         Requested = "requested",
///         InProgress = "in_progress",
///     }
/// }
/// ```
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [Self; [$($text),+].len()] = [$(Self::$variant),+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The value with this stored name.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // Templates and tests compare with the stored name (`c.status == "requested"`).
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Self::parse(&raw).ok_or_else(|| {
                    <D::Error as ::serde::de::Error>::unknown_variant(&raw, &[$($text),+])
                })
            }
        }

        // In the OpenAPI document: a string with exactly these values.
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        // Named `context.Type` in the document: several contexts have a `Status`.
        impl ::utoipa::ToSchema for $name {
            fn name() -> ::std::borrow::Cow<'static, str> {
                let context = module_path!().split("::").nth(1).unwrap_or("yunyi");
                ::std::borrow::Cow::Owned(format!("{context}.{}", stringify!($name)))
            }
        }

        $crate::text_enum!(@sqlx $name, ::sqlx::Sqlite);
        $crate::text_enum!(@sqlx $name, ::sqlx::Postgres);
    };
    (@sqlx $name:ident, $db:ty) => {
        impl ::sqlx::Type<$db> for $name {
            fn type_info() -> <$db as ::sqlx::Database>::TypeInfo {
                <&str as ::sqlx::Type<$db>>::type_info()
            }
            fn compatible(ty: &<$db as ::sqlx::Database>::TypeInfo) -> bool {
                <&str as ::sqlx::Type<$db>>::compatible(ty)
            }
        }

        impl<'q> ::sqlx::Encode<'q, $db> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as ::sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                <&str as ::sqlx::Encode<'q, $db>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> ::sqlx::Decode<'r, $db> for $name {
            fn decode(
                value: <$db as ::sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, ::sqlx::error::BoxDynError> {
                let raw = <&str as ::sqlx::Decode<'r, $db>>::decode(value)?;
                Self::parse(raw).ok_or_else(|| {
                    format!("'{raw}' is not a known {}", stringify!($name)).into()
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        /// A test enum.
        enum Colour {
            Red = "red",
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for c in Colour::ALL {
            assert_eq!(Colour::parse(c.as_str()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Colour>(&json).unwrap(), c);
        }
        assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
        assert!(Colour::Red == "red");
        assert_eq!(Colour::parse("Red"), None);
        let err = serde_json::from_str::<Colour>("\"green\"").unwrap_err();
        assert!(err.to_string().contains("dark_blue"), "{err}");
    }

    #[tokio::test]
    async fn the_database_stores_the_name_and_refuses_an_unknown_one() {
        let db = crate::db::Db::Sqlite(sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap());
        let stored: String = db.scalar("SELECT $1", (Colour::DarkBlue,)).await.unwrap();
        assert_eq!(stored, "dark_blue");
        let back: Colour = db.scalar("SELECT 'dark_blue'", ()).await.unwrap();
        assert_eq!(back, Colour::DarkBlue);
        let unknown = db.scalar::<Colour>("SELECT 'green'", ()).await.unwrap_err();
        assert!(
            unknown.to_string().contains("not a known Colour"),
            "{unknown}"
        );
    }
}
