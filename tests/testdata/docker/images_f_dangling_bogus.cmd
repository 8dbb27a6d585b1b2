docker images --filter dangling=maybe
