docker images --filter label=x=y
