// Tests that start real processes share the machine's two cores: one at a time keeps their timings honest.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
