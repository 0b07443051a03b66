// Linked with every object of one server layer and only the layers it may use (see
// cmake/CoplanLayers.cmake): it builds only if the layer takes nothing from elsewhere.
int main() { return 0; }
