docker images --filter dangling
