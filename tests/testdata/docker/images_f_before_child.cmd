docker images --filter before=child:latest
