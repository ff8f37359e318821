"""Read models across collections: activity, the map, the network, and the map's kept tallies."""
