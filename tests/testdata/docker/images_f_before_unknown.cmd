docker images --filter before=nosuch
