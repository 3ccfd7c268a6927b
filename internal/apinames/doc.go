// Package apinames holds a test over the whole module's exported API: no
// two exported names of one package (or methods of one type) may differ
// only in case, as nn.Conv2d the module and nn.Conv2D the function once
// did. Readers, and tab completion, cannot tell such names apart.
package apinames
