docker images --filter 'reference=*:v1'
