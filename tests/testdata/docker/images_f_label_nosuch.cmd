docker images --filter label=nosuch
