docker images --filter dangling=false
