docker images --format 'table {{.ID}}\t{{.Repository}}'
