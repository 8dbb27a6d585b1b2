docker images --filter dangling=true
