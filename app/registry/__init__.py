"""What the registry's records (interactions and agreements) share: how they refer to
organizations and strategic objectives, and the rules of those references."""
