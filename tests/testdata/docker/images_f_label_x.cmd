docker images --filter label=x
