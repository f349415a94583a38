//! Dense ids into the [`crate::Model`]'s vectors.

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            /// The id of the object at this index.
            pub fn new(index: usize) -> Self {
                $name(u32::try_from(index).expect("more than 2^32 objects"))
            }

            /// The index into the model's vector.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id!(
    /// Index into [`crate::Model::namespaces`].
    NamespaceId
);
id!(
    /// Index into [`crate::Model::pods`].
    PodId
);
id!(
    /// Index into [`crate::Model::workloads`].
    WorkloadId
);
id!(
    /// Index into [`crate::Model::policies`].
    PolicyId
);
id!(
    /// Index into [`crate::Model::services`].
    ServiceId
);
