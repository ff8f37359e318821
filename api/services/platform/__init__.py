"""What any service needs: connections, hand-written SQL, the shared store, errors, actors, the clock."""
